elementclass Q0 {
p1 :: A(1);
input [0] -> [1] p1;
p1 [0] -> [0] output;
}

elementclass Q0_Replacement {
r :: D($x, 3);
input [0] -> [0] r;
r [0] -> [0] output;
}
