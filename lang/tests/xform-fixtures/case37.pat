elementclass Q0 {
p4 :: C($x);
input [0] -> [0] p4;
}

elementclass Q0_Replacement {
r :: E($x);
input [0] -> [0] r;
}
