define($LIM 5, $GW $DEV:gw);
define($DEV eth0);
Idle -> q :: Queue($LIM) -> u :: Unqueue -> s :: SetIPAddress($GW) -> Discard;
