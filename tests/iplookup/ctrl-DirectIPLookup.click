// ctrl applies its lines all or none.
i :: Idle -> r :: DirectIPLookup(1.0.0.0/8 0, 2.0.0.0/8 1.1.1.1 1, 0/0 2) -> i; r[1] -> i; r[2] -> i;
DriverManager(
	write r.ctrl "add 3.0.0.0/8 0\nset 2.0.0.0/8 2\nremove 1.0.0.0/8\nadd 4.4.4.0/24 4.4.4.4 1",
	print r.table,
	write r.ctrl "remove 3.0.0.0/8\nadd 5.0.0.0/8 1\nset 0/0 1\nadd 2.0.0.0/8 0",
	print r.table,
	write r.ctrl "add 6.0.0.0/8 1\nremove 9.0.0.0/8",
	print r.table,
	write r.ctrl "add 7.0.0.0/8 1\nfrob 8.0.0.0/8",
	print r.table,
	print r.lookup 4.4.4.4,
	print r.lookup 2.2.2.2,
	print r.lookup 200.0.0.1,
)
