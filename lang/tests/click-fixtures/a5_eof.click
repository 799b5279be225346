a :: Idle ->
