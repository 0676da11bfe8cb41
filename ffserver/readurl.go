package ffserver

// validateReadURL refuses a read URL Open could not honour: one beside
// Backend, one for a SQLite store, or one that is not a Postgres URL.
func (c Config) validateReadURL() error {
	if c.DatabaseReadURL == "" {
		return nil
	}
	if c.Backend != nil {
		return invalidf("ffserver: DatabaseReadURL needs DatabaseURL, not Backend (give the backend its read URL instead)")
	}
	db, err := ParseDatabaseURL(c.DatabaseURL)
	if err != nil {
		return err
	}
	if db.Kind != KindPostgres {
		return invalidf("ffserver: a database read url needs a Postgres database url (SQLite has no replicas)")
	}
	read, err := ParseDatabaseURL(c.DatabaseReadURL)
	if err != nil {
		return invalidf("ffserver: database read url: %v", err)
	}
	if read.Kind != KindPostgres {
		return invalidf("ffserver: database read url must be postgres://...")
	}
	return nil
}
