elementclass Q0 {
p8 :: B(1, 2);
}

elementclass Q0_Replacement {
p8 :: D($y);
}

elementclass Q1 {
p2 :: A($x);
input [0] -> [1] p2;
p2 [0] -> [0] output;
}

elementclass Q1_Replacement {
r :: E($x);
input [0] -> [0] r;
r [0] -> [0] output;
}

elementclass Q2 {
p5 :: B(2);
p6 :: C;
p5 [0] -> [1] p6;
input [0] -> [0] p5;
p6 [0] -> [0] output;
}

elementclass Q2_Replacement {
r :: E($x);
input [0] -> [0] r;
r [0] -> [0] output;
r [1] -> x2 :: B(1);
}
