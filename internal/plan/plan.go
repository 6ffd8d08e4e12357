// Package plan compiles Backbone's API objects into the plain plans the pipeline runs
// (internal/pipeline/spec), and performs the checks that need more than one object: the
// partner exists, a dimension is in the vocabulary, a column is in the source's schema, the
// cell floor is not below the Initiative's, the schedule parses. The controller and
// `backbone local` use the same code, so both report the same field and message.
package plan

import (
	"fmt"
	"strings"
)

// Error is a problem with one field of one object.
type Error struct {
	Kind      string // Initiative, DataSource or Indicator
	Namespace string
	Name      string
	Field     string // e.g. spec.measure.numerator.column
	Message   string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %s: %s: %s", e.Kind, e.Name, e.Field, e.Message)
}

// Errors is a list of problems, reported together.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// errs collects the problems of one object.
type errs struct {
	kind, namespace, name string
	list                  Errors
}

func (e *errs) add(field, format string, args ...any) {
	e.list = append(e.list, &Error{Kind: e.kind, Namespace: e.namespace, Name: e.name, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (e *errs) err() error {
	if len(e.list) == 0 {
		return nil
	}
	return e.list
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
