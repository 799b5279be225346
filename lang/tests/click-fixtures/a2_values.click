define($DEV eth0, $GW $DEV:gw, $G <$L>);
s :: SetIPAddress($GW);
elementclass F { $L | input -> p :: Print($G) -> output }
Idle -> f :: F(7) -> Discard;
