elementclass F { input -> a :: Idle ->
 -> output }
Idle -> F -> Discard;
