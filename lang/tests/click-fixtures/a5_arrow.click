a :: Idle ->
-> b :: Idle;
