elementclass Q0 {
p7 :: B(1, 2);
input [0] -> [0] p7;
p7 [1] -> [0] output;
}

elementclass Q0_Replacement {
r :: D;
input [0] -> [0] r;
r [0] -> [0] output;
}

elementclass Q1 {
p8 :: C;
input [0] -> [0] p8;
p8 [0] -> [0] output;
}

elementclass Q1_Replacement {
r :: D($x);
input [0] -> [0] r;
r [0] -> [0] output;
}
