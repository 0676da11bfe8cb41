package ffserver

import (
	"errors"
	"fmt"

	ff "github.com/flowfabric-go/flowfabric"
)

// ErrStopped is returned by Start and NewWorker once Stop or Close has
// begun: a Server runs once.
var ErrStopped = errors.New("ffserver: server stopped")

// ErrStarted is returned by a second Start.
var ErrStarted = errors.New("ffserver: server already started")

// configError is a configuration mistake: errors.Is matches it with
// ff.ErrInvalidInput and ff.ClassValidation, and its message is the
// explanation alone (it reads as a usage error on a command line).
type configError struct{ msg string }

func invalidf(format string, args ...any) error {
	return &configError{msg: fmt.Sprintf(format, args...)}
}

func (e *configError) Error() string { return e.msg }

func (e *configError) Is(target error) bool {
	return target == ff.ErrInvalidInput || target == ff.ClassValidation
}
