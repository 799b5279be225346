elementclass Q0 {
p1 :: C;
p2 :: A($y, $y);
p3 :: B(2);
p1 [0] -> [0] p2;
p2 [1] -> [0] p3;
input [0] -> [0] p1;
}

elementclass Q0_Replacement {
p1 :: D($x, 3);
input [0] -> [0] p1;
}

elementclass Q1 {
p1 :: C;
p2 :: A(1, 2);
p1 [0] -> [0] p2;
input [0] -> [0] p1;
p2 [1] -> [0] output;
}

elementclass Q1_Replacement {
r :: E;
input [0] -> [0] r;
r [0] -> [0] output;
r [1] -> x2 :: A(1);
}
