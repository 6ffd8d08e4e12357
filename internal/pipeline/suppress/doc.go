// Package suppress protects small groups in published tables by cell
// suppression. It decides which cells of one protection problem are withheld:
// the primary suppressions the caller marks (0 < n < k) and the secondary,
// complementary suppressions needed so that the published cells cannot be
// combined to recover a withheld one.
//
// # Model
//
// A protection problem is every publishable cell that shares one count base:
// the total, each group of each dimension, each intersection cell, each month,
// quarter and year. The finest classification is a set of inner cells
// (for example every combination of month and dimension groups), and every
// publishable cell is the sum of a set of inner cells, that is a 0/1 vector
// over the inner cells. An attacker knows the value of every published cell
// and all of these additive relations. A withheld cell is disclosed when its
// vector lies in the linear span, over the rationals, of the vectors of the
// published cells: some signed combination of published values then equals
// it exactly.
//
// # Method
//
// Secondary suppression follows GaussSuppression (Langsrud, SSBtools and the
// GaussSuppression R package): a solver-free greedy method that runs Gaussian
// elimination over the table's additive relations instead of a linear or
// integer programme. Published empty cells (n = 0) are published first; they
// protect nothing and are never chosen as complementary suppressions. Every
// other cell that is not primary is then offered for publication in order of
// decreasing n, ties broken by ascending key, so that when something has to
// give, the smallest cells are the ones withheld. A cell is published unless
// publishing it would disclose a withheld cell, in which case it is withheld
// too. The pattern depends only on the cells, never on their input order.
//
// The elimination is incremental and exact. The published vectors are kept
// in reduced row echelon form, and each withheld cell is represented by its
// residual: its vector reduced against that basis, which is zero exactly when
// the cell is disclosed. Offering a cell reduces its vector against the basis;
// a zero result means it is already determined by the published cells and
// can be published freely, otherwise the residuals are updated tentatively
// and the cell is withheld if any of them vanishes. Vectors are sparse, with
// int64 coefficients kept primitive (divided by their gcd, first coefficient
// positive) by fraction-free elimination; should a coefficient outgrow int64
// the problem is solved again with math/big, which gives the same pattern.
//
// Which inner cell of a new row becomes its pivot changes the work, never the
// pattern (span membership and proportionality do not depend on the basis). On
// tables of one or two dimensions the pivot is the cell held by the fewest rows
// and residuals that the cells still to be offered sum last; on larger ones, the
// row's first cell (see pivotOf and choosesPivots).
//
// # Singletons
//
// A cell with exactly one contributor (n = 1, or a proportion whose numerator
// or complement is 1) is known to that contributor, who can subtract it from
// published relations. If A = 1 and B = 1 are withheld and the total 12 and
// C = 10 are published, the person in A computes B = 12 − 10 − 1. So for a
// withheld singleton u, the primary cells must also stay outside the span of
// the published cells together with u: t is disclosed to u's contributor when
// residual(t) is a multiple of residual(u), and C must be withheld as well.
// Cells with proportional residuals are kept in classes; publishing a cell is
// refused when it would merge a class holding a primary cell with a different
// class holding a singleton.
//
// Two refinements keep the rule satisfiable. Only primary cells are protected
// against a singleton's own knowledge: complementary cells carry no sensitive
// value, and whatever a singleton learns about one it learns from its own
// value and the published ones. And a primary cell is not counted as disclosed
// to a singleton whose cell differs from it only by published empty cells
// (t in the span of u and the published empty cells): both then hold the same
// single contributor, who learns nothing about anyone else. For the same
// reason a withheld cell that is a combination of published empty cells is
// known to be empty and is not reported. Singleton cells are expected to be
// primary, as they are whenever k > 1.
//
// [Disclosed] re-checks any suppression pattern from scratch with an
// independent, straightforward big.Rat elimination, for audits and tests.
package suppress
