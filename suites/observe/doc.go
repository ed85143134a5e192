// Package observe gets a receiver's business effects without a change to the receiver: from its
// database (an SQL query, polled) or from its log lines (a regular expression). Every source
// feeds a *sink.Collector through Collector.Add, exactly as if the receiver had POSTed each
// effect to hookproof's sink, so every verdict downstream stays the same.
//
// # SQL source
//
// OpenSQL connects to the receiver's database and runs the effects query once (the first
// check); Start polls it in the background and Sync polls once now. Accepted DSN forms:
//
//	postgres://user:pass@host:5432/db?sslmode=disable    PostgreSQL (also postgresql://), via pgx
//	mysql://user:pass@host:3306/db?param=value           MySQL and MariaDB, via go-sql-driver/mysql
//	sqlite:PATH                                          an SQLite file, opened read-only
//
// The query returns one row per processing, in processing order:
//
//	webhook_id  required: the delivery id; any type (an integer or a UUID column reads as text)
//	effect_id   optional: rows sharing one (webhook_id, effect_id) count as one effect
//	applied     optional: true/false, 1/0 or 't'/'f'; without the column every row is applied
//
// Column names are matched case-insensitively; other columns are ignored. Each row is fed as
// sink.Effect{WebhookID, EffectID, Applied, Type: "sql", Data: null}. A row whose webhook_id is
// NULL or empty, or whose applied is none of those values, is skipped and counted (Skipped);
// the first such row is reported by Err.
//
// Feeding is incremental and by position: the source remembers how many rows it has fed and a
// poll feeds only the rows past that count. So the query must be append-only in processing
// order: ORDER BY a column that only grows (an auto-increment id, or a timestamp written at
// processing). A poll that returns fewer rows than were fed, or whose first rows differ from
// the ones fed before (the source keeps a hash of them), feeds nothing and is an error
// ("rows must only be appended"): rows were deleted, updated or reordered, and counting by
// position would mis-count effects.
//
// Cost: every poll re-reads every row the query returns. On a big table keep the query to this
// run's rows with the {since} token, which is replaced by the driver's placeholder and bound to
// the run's start time:
//
//	SELECT webhook_id, effect_id, applied FROM processed_events
//	WHERE processed_at >= {since} ORDER BY id
//
// {since} binds a time.Time in UTC for PostgreSQL and MySQL, and for SQLite the text
// 'YYYY-MM-DD HH:MM:SS' in UTC (truncated to the second, so it never excludes a row of the
// run's first second): the format of SQLite's CURRENT_TIMESTAMP and of what Rails and Django
// write, which compares as text with their fractional seconds correctly. {since_unix} binds
// the start as integer unix seconds, for a column of epoch seconds. Without either token the
// query sees the whole table, and rows of earlier runs are fed too (their ids are not this
// run's, so they show up as foreign effects). The tokens are replaced anywhere in the text,
// inside string literals too.
//
// Read-only: hookproof never writes to the receiver's database. Every poll runs in a read-only
// transaction (BEGIN READ ONLY on PostgreSQL, START TRANSACTION READ ONLY on MySQL), which is
// rolled back once the rows are read; an SQLite file is opened with mode=ro and the query_only
// pragma. A query that tries to write (INSERT … RETURNING, a CTE with an INSERT) fails and
// writes nothing. MySQL multi-statements are switched off whatever the DSN says. This guards
// against mistakes in the query, not against a query written to escape the transaction (a
// PostgreSQL DSN that selects the simple protocol allows "COMMIT; …"): for a hard guarantee,
// connect as a role that may only SELECT.
//
// Secrets: String and every error show the DSN with its password replaced by *** (RedactDSN),
// and the password's text is scrubbed from driver messages too.
//
// Setup errors (a DSN of no accepted form, a database that cannot be reached, a query that
// fails or lacks webhook_id at the first check, a log pattern without an id group, a log file
// that does not exist) wrap ErrConfig, so the caller can tell them from failures during a run.
//
// # Log sources
//
// A LogMatcher is a Go regular expression with a named group id (the delivery id) and
// optional groups effect (the effect id) and applied. applied accepts true/false, 1/0, yes/no
// and applied/stale, case-insensitively; when the group takes no part in the match the effect
// is applied. A line whose applied group captured anything else is a parse problem: it is
// skipped (not fed as applied, not fed as stale), counted in Skipped and reported by Err,
// because guessing either way would bias the verdict. Lines that do not match, and matches
// whose id is empty, are ignored. Effects are fed with Type "log" and Data null.
//
// Lines are bounded: a line over MaxLineBytes is skipped (counted, reported by Err) without
// ever being held whole in memory. A trailing "\r" is dropped.
//
// FollowReader follows any stream (container logs); FollowCommand runs `sh -c COMMAND` and
// follows its stdout and stderr (for `docker logs -f NAME`, `kubectl logs -f POD`,
// `journalctl -fu UNIT`); FollowFile follows a file like tail -F. Each returns a Follower whose
// Close stops it within CloseTimeout, whose Err reports a problem and whose Lines, Matched and
// Skipped counters are for the CLI to show.
//
// FollowFile starts at the file's current end (lines written before the run are not this
// run's; a partly written last line is skipped), polls it every PollInterval, and survives
// truncation (it starts over at offset 0) and rotation (the path names a new file: it reads
// the rest of the old one, then the new one from its start). A truncation followed by a
// rewrite past the old size within one poll interval is not seen as a truncation, as with
// tail -F. A line is fed once its newline is written; Sync reads everything appended so far.
//
// For streams (FollowReader, FollowCommand) lines are fed as they arrive and Sync has nothing
// to wait for; use Collector.WaitQuiet to let late lines in. A command that exits with an error
// is reported by Err with its exit status and the tail of its stderr; one that exits 0 just
// ends (Done is closed).
package observe
