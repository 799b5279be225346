elementclass Q0 {
p7 :: A($y);
input [0] -> [0] p7;
p7 [0] -> [0] output;
}

elementclass Q0_Replacement {
r :: E($x);
input [0] -> [0] r;
r [0] -> [0] output;
}

elementclass Q1 {
p4 :: C($y);
p5 :: C(1);
p6 :: B(1);
p4 [1] -> [0] p5;
p5 [1] -> [0] p6;
p6 [0] -> [0] output;
}

elementclass Q1_Replacement {
r :: E;
r [0] -> [0] output;
r [1] -> x2 :: B(1);
}

elementclass Q2 {
p5 :: C($x);
p6 :: B($x);
p7 :: A(2);
p5 [1] -> [0] p6;
p6 [0] -> [0] p7;
input [0] -> [0] p5;
p7 [0] -> [0] output;
}

elementclass Q2_Replacement {
p5 :: D($x);
input [0] -> [0] p5;
p5 [0] -> [0] output;
}
