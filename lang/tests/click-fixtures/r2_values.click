define($DEV eth0, $GW $DEV:gw, $G <$L>, $SELF $SELF, $D '$', $T a	b, $a 1);
elementclass F { $L | s :: Script(TYPE PASSIVE, print $GW $G) }
f :: F(7);
t :: Script(TYPE PASSIVE, print "$D $T", print $$a $(a) $(x $a) $? $# $a, print $SELF, print $a ${b $a);
