elementclass Q0 {
p2 :: A($y, $y);
p2 [0] -> [0] output;
}

elementclass Q0_Replacement {
p2 :: D($y);
p2 [0] -> [0] output;
}

elementclass Q1 {
p2 :: A(1, 2);
p2 [0] -> [0] output;
}

elementclass Q1_Replacement {
r :: D($x, 3);
r [0] -> [0] output;
}
