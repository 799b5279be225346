elementclass Q0 {
p1 :: B(1, 2);
p2 :: C;
p1 [0] -> [0] p2;
input [0] -> [1] p1;
p2 [0] -> [0] output;
p2 [1] -> [1] output;
}

elementclass Q0_Replacement {
p1 :: E;
input [0] -> [0] p1;
p1 [0] -> [0] output;
p1 [1] -> [1] output;
}

elementclass Q1 {
p3 :: C;
p4 :: B(2);
p5 :: C($x);
p3 [1] -> [0] p4;
p3 [1] -> [0] p5;
p4 [1] -> [0] p5;
p4 [1] -> [1] p5;
input [0] -> [1] p3;
p5 [0] -> [0] output;
}

elementclass Q1_Replacement {
r :: D($x, 3);
input [0] -> [0] r;
r [0] -> [0] output;
}
