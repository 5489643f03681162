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
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
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

	// MongoDBURI waits until the listener is bound, so the printed port is real.
	fmt.Println(f.MongoDBURI())

	<-done

	return nil
}
