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
