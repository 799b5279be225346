elementclass One { $a | input -> Queue($a) -> output }
Idle -> One(5, ) -> One(6, // six
) -> One(7, /* seven */ ) -> Discard;
elementclass Two { $a, $b | input -> Queue($b) -> output }
Idle -> Two(, 5, ) -> Discard;
elementclass P { $a | input -> Print($a) -> output }
Idle -> P(a  /* x */  b) -> Discard;
