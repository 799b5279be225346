require(package "p");
define($LIM 5, $GW $DEV:gw);
define($DEV eth0);
q :: Queue($LIM);
Idle -> q -> s :: SetIPAddress($GW) -> Discard;
