a :: Idle ->

;
