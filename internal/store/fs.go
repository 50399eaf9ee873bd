package store

import "io/fs"

func migrationsFS() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		// The directory is embedded at build time, so this cannot fail at run time.
		panic(err)
	}
	return sub
}

// postgresMigrationsFS holds the same schema history written for
// PostgreSQL: one file per version, with the same numbers and names.
func postgresMigrationsFS() fs.FS {
	sub, err := fs.Sub(migrations, "migrations/postgres")
	if err != nil {
		panic(err)
	}
	return sub
}
