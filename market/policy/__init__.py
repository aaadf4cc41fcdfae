"""The financing policy: versioned policy values (eligible kinds, rate cap, subsidy, compensation, ceilings), the
dated benchmark/LPR rate table, and the pure rules and plan calculator over them. Below ip in the stack: it knows
nothing of assets, needs or loans."""
