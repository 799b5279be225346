elementclass Q0 {
p4 :: A(1);
p5 :: B;
p4 [0] -> [0] p5;
input [0] -> [0] p4;
}

elementclass Q0_Replacement {
r :: D($x, 3);
input [0] -> [0] r;
}

elementclass Q1 {
p2 :: A;
p2 [0] -> [0] output;
}

elementclass Q1_Replacement {
r :: E($y);
r [0] -> [0] output;
r [1] -> x2 :: B(1);
}

elementclass Q2 {
p5 :: B;
input [0] -> [0] p5;
}

elementclass Q2_Replacement {
p5 :: D($x, 3);
input [0] -> [0] p5;
}
