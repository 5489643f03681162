// Command engine runs FerretDB (SQLite backend) embedded as a library, for the
// secrets service's development and test database.
//
// FerretDB's own command cannot be built from the module proxy (its version
// file is generated at release time), but its public ferretdb package can be
// embedded. This program listens on a Unix socket (or, if asked, a TCP
// address), prints the MongoDB URI it serves on stdout (one line, once it
// accepts connections) and runs until
// SIGINT/SIGTERM or until its standard input closes. The parent keeps a pipe to
// our stdin, so when the parent dies in any way, even SIGKILL, the pipe closes
// and the engine stops: no orphan outlives its service.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	_ "modernc.org/sqlite"
)

func main() {
	dataDir := flag.String("data", "", "directory for the SQLite files (required)")
	unix := flag.String("unix", "", "Unix socket to listen on (its folder should be the caller's alone, mode 0700)")
	listen := flag.String("listen", "", "TCP address to listen on instead; port 0 picks a free port (FerretDB asks for no password: keep it off shared machines)")
	lifeline := flag.Bool("stdin-lifeline", true, "stop when standard input reaches EOF (the parent went away)")
	logLevel := flag.String("log-level", "warn", "FerretDB log level: debug, info, warn or error")
	flag.Parse()

	if err := run(*dataDir, *unix, *listen, *lifeline, *logLevel); err != nil {
		fmt.Fprintln(os.Stderr, "engine:", err)
		os.Exit(1)
	}
}

func run(dataDir, unix, listen string, lifeline bool, logLevel string) error {
	if dataDir == "" {
		return fmt.Errorf("-data is required")
	}

	if (unix == "") == (listen == "") {
		return fmt.Errorf("give one of -unix and -listen")
	}

	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return err
	}

	if err = os.MkdirAll(dir, 0o700); err != nil {
		return err
	}

	var level slog.Level
	if err = level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("bad -log-level: %w", err)
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if lifeline {
		go func() {
			// Any read result, data or EOF or error, ends the wait; the parent never writes.
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: listen, Unix: unix},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
	})
	if err != nil {
		return err
	}

	done := make(chan struct{})

	go func() {
		defer close(done)
		_ = f.Run(ctx)
	}()

	go indexIDs(ctx, dir, logger)

	// MongoDBURI waits until the listener is bound, so the printed port is real.
	fmt.Println(f.MongoDBURI())

	<-done

	return nil
}

// indexIDs gives every collection table an index on the expression FerretDB's
// lookups by _id use. FerretDB 1.24 hands SQLite a filter that is exactly
// {_id: …} as `_ferretdb_sjson->'$._id' = ?` (backends/sqlite/metadata.IDColumn),
// but builds its own indexes, the unique _id one included, on
// `_ferretdb_sjson->"_id"`: SQLite matches an index only to the same
// expression, so every lookup, update and delete by _id scanned the whole
// table. FerretDB ignores indexes it did not make (it drops its own by name,
// and a dropped table takes this one with it), so one beside each table is
// safe; tables made later (a new collection, a new database file) are found
// on the next pass.
func indexIDs(ctx context.Context, dir string, logger *slog.Logger) {
	dbs := map[string]*sql.DB{}
	done := map[string]bool{}

	defer func() {
		for _, db := range dbs {
			_ = db.Close()
		}
	}()

	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
		for _, file := range files {
			db := dbs[file]
			if db == nil {
				var err error
				if db, err = sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)"); err != nil {
					continue
				}

				db.SetMaxOpenConns(1)
				dbs[file] = db
			}

			rows, err := db.QueryContext(ctx, `SELECT table_name FROM _ferretdb_collections`)
			if err != nil {
				continue // not made yet by FerretDB
			}

			var tables []string
			for rows.Next() {
				var table string
				if rows.Scan(&table) == nil {
					tables = append(tables, table)
				}
			}
			_ = rows.Close()

			for _, table := range tables {
				key := file + "/" + table
				if done[key] {
					continue
				}

				q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`, table+"_ferretdb_id_lookup", table)
				if _, err := db.ExecContext(ctx, q); err != nil {
					logger.Debug("index by _id not made yet", "table", table, "error", err)
					continue
				}

				done[key] = true
			}
		}

		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}
