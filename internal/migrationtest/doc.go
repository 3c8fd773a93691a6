// Package migrationtest holds the tests behind the migration guides in
// docs/ (migrating-from-gobreaker.md, migrating-from-failsafe-go.md,
// migrating-from-hystrix-go.md): one test for each claim a guide makes
// about tripwire, named after the guide and the claim, and the guides'
// "after" code as runnable examples, so that a guide cannot drift from the
// library. The claims about the other libraries are tested beside them, in
// bench/peers/migration_test.go, against the versions that module requires.
//
// It also keeps the README and docs/ honest as a whole: the README's quick
// start runs as an example, every relative link resolves, every test a
// guide cites exists, and the library imports only the standard library.
package migrationtest
