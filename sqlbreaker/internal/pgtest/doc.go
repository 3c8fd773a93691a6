// Package pgtest tests package sqlbreaker against a real PostgreSQL
// server, which the tests start themselves on a unix socket in a
// temporary directory. It is a module of its own so that the PostgreSQL
// driver it uses (github.com/lib/pq) stays out of the main module.
//
// The tests need PostgreSQL's server binaries (Debian's postgresql
// package). Without them they skip, except under CI=true, where they
// fail.
package pgtest
