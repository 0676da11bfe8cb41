package sqlite

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// sqliteMagic opens every SQLite database file.
const sqliteMagic = "SQLite format 3\x00"

// dbFile is a database path after the pre-flight checks.
type dbFile struct {
	path   string // absolute
	exists bool   // the file exists (it may be empty)
}

// resolvePath turns a configured path ("x.db", "/abs/x.db" or
// "sqlite://x.db") into an absolute file path. In-memory databases are
// refused: the reader pool and the writer would each get their own.
func resolvePath(p string) (string, error) {
	p = strings.TrimPrefix(p, "sqlite://")
	if p == "" {
		return "", openError(nil, "sqlite: empty database path")
	}
	if p == ":memory:" || strings.HasPrefix(p, "file:") {
		return "", openError(nil, "sqlite: %q: give a plain file path (in-memory and URI databases are not supported)", p)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", openError(err, "sqlite: %q: cannot resolve path", p)
	}
	return abs, nil
}

// inspectFile checks path without modifying anything: a directory or a
// file that does not start with the SQLite header is refused; when write
// is set, the file (if it exists) and its directory must be writable,
// because WAL mode creates -wal and -shm files beside the database.
func inspectFile(path string, write bool) (dbFile, error) {
	f := dbFile{path: path}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return f, openError(ErrNotWritable, "sqlite: cannot stat database %s", path)
	case st.IsDir():
		return f, openError(ErrNotWritable, "sqlite: database path %s is a directory, not a file", path)
	default:
		f.exists = true
		if err := checkHeader(path); err != nil {
			return f, err
		}
	}
	dir := filepath.Dir(path)
	dst, err := os.Stat(dir)
	if err != nil || !dst.IsDir() {
		return f, openError(ErrNotWritable, "sqlite: directory %s of database %s does not exist", dir, path)
	}
	if !write {
		return f, nil
	}
	if f.exists {
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return f, openError(ErrNotWritable, "sqlite: database %s is read-only: %v", path, err)
		}
		_ = w.Close()
	}
	if err := probeDirWritable(dir); err != nil {
		return f, openError(ErrNotWritable, "sqlite: directory %s of database %s is read-only (WAL needs to create files there): %v", dir, path, err)
	}
	return f, nil
}

// checkHeader refuses a non-empty file that is not SQLite. An empty file
// is a valid, empty database.
func checkHeader(path string) error {
	r, err := os.Open(path)
	if err != nil {
		return openError(ErrNotWritable, "sqlite: cannot read database %s: %v", path, err)
	}
	defer r.Close()
	head := make([]byte, len(sqliteMagic))
	n, err := io.ReadFull(r, head)
	if n == 0 && (err == nil || errors.Is(err, io.EOF)) {
		return nil
	}
	if !bytes.Equal(head[:n], []byte(sqliteMagic)) {
		return notFlowFabric(path, "it is not a SQLite file")
	}
	return nil
}

func notFlowFabric(path, why string) error {
	return openError(ErrNotFlowFabric, "sqlite: %s is not a FlowFabric database (%s); it was not modified", path, why)
}

// probeDirWritable creates and removes a temporary file in dir: the only
// check that tells the truth for every user, root included, and every
// file system (read-only mounts, immutable directories).
func probeDirWritable(dir string) error {
	tmp, err := os.CreateTemp(dir, ".flowfabric-probe-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	_ = tmp.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("remove probe file: %w", err)
	}
	return nil
}

// dsn builds the driver's data source name for path with the given
// driver parameters. The path is a file: URI, escaped so that '?', '#'
// and '%' in a file name stay part of it.
func dsn(path string, params ...string) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(filepath.ToSlash(path))
	if !strings.HasPrefix(esc, "/") {
		esc = "/" + esc // Windows drive letters: file:/C:/...
	}
	return "file:" + esc + "?" + strings.Join(params, "&")
}
