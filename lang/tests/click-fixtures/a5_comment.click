a :: Idle -> // note

  -> b :: Idle;
