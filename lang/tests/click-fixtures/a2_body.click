elementclass F { $a, __REST__ $r | input -> p :: Print(${a-x}, ${r-none}, ${Q-$a}, ${a[0]-q}) -> q :: Print(${r-none}) -> output }
Idle -> f :: F(1) -> Discard;
