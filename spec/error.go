package spec

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrInvalid is wrapped by every error of [Parse], [ParseList] and the
// methods that read a spec's text.
var ErrInvalid = errors.New("spec: invalid spec")

// Error reports a spec that cannot be read, and where: Offset is the byte
// offset of the offending character in Text, [Error.Column] counts it in
// characters and [Error.Caret] draws it. Use errors.As with it to point at
// the mistake in a form, a flag or a config file.
//
// An Error is not changed after it is returned; it is safe to share.
type Error struct {
	// Text is the whole text that was parsed.
	Text string
	// Offset is where in Text the problem is, in bytes.
	Offset int
	// Field names the argument or setting at fault: an argument as
	// written in Go ("Rate.ratio", "Slow.threshold"), a setting as written
	// in the spec ("@open"), or "" for a problem of syntax.
	Field string

	problem string
}

// NewError returns the error for a problem at offset in text, in the
// argument or setting field, for a caller that checks more than Parse
// does (against a running breaker, say) and points at the spec as Parse
// would. An offset outside text is clamped to it.
func NewError(text string, offset int, field, problem string) *Error {
	return &Error{Text: text, Offset: min(max(offset, 0), len(text)), Field: field, problem: problem}
}

// Problem says what is wrong, without naming the field or the column.
func (e *Error) Problem() string { return e.problem }

// Column is the position of the offending character, from 1, counted in
// characters.
func (e *Error) Column() int {
	return utf8.RuneCountInString(e.Text[:min(max(e.Offset, 0), len(e.Text))]) + 1
}

// Error says where the problem is and what it is:
// "spec: column 6: Rate.ratio: must be a fraction in (0, 1], got 1.5".
func (e *Error) Error() string {
	field := ""
	if e.Field != "" {
		field = e.Field + ": "
	}
	return fmt.Sprintf("spec: column %d: %s%s", e.Column(), field, e.problem)
}

// Caret returns the text and, below it, a caret under the offending
// character, for a terminal:
//
//	rate(1.5,20,10s)
//	     ^
func (e *Error) Caret() string {
	return e.Text + "\n" + strings.Repeat(" ", e.Column()-1) + "^"
}

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }
