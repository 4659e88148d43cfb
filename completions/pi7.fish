# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_pi7_global_optspecs
    string join \n db= json v/verbose hold h/help V/version
end

function __fish_pi7_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_pi7_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_pi7_using_subcommand
    set -l cmd (__fish_pi7_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c pi7 -n "__fish_pi7_needs_command" -l db -d 'The database file [default: pi7.db in the platform data directory, e.g. ~/.local/share/pi7/pi7.db]' -r -F
complete -c pi7 -n "__fish_pi7_needs_command" -l json -d 'Print machine-readable JSON on stdout instead of tables'
complete -c pi7 -n "__fish_pi7_needs_command" -s v -l verbose -d 'Print the workflow log on stderr, in the original PI 7\'s style'
complete -c pi7 -n "__fish_pi7_needs_command" -l hold -d 'Append events and their deliveries but deliver nothing (`pi7 dispatch` delivers them later)'
complete -c pi7 -n "__fish_pi7_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pi7 -n "__fish_pi7_needs_command" -s V -l version -d 'Print version'
complete -c pi7 -n "__fish_pi7_needs_command" -f -a "submit" -d 'Submit one order or many: assigns each a processId, publishes `salesorder/request` and delivers it'
complete -c pi7 -n "__fish_pi7_needs_command" -f -a "list" -d 'List sales orders or reservations'
complete -c pi7 -n "__fish_pi7_needs_command" -f -a "confirm" -d 'Confirm reservations: each publishes `reservation/confirm`, and the sales order is confirmed once all its lines are'
complete -c pi7 -n "__fish_pi7_needs_command" -f -a "reject" -d 'Reject reservations: each becomes `rejected` and publishes `reservation/reject`; the saga cancels the order and every other reservation of it is released'
complete -c pi7 -n "__fish_pi7_needs_command" -f -a "cancel" -d 'Cancel a pending order for the customer: it becomes `cancelled` and publishes `salesorder/cancel`, and every reservation of it is released'
complete -c pi7 -n "__fish_pi7_needs_command" -f -a "expire" -d 'Reject, with reason "expired", every unconfirmed reservation made longer ago than DURATION; their orders are cancelled and compensated as by `pi7 reject`'
complete -c pi7 -n "__fish_pi7_needs_command" -f -a "show" -d 'Show a sales order, a reservation or a process: its document, lines, history and the events of its process'
complete -c pi7 -n "__fish_pi7_needs_command" -f -a "events" -d 'Print the event log in `seq` order, as a table or (with `--json`) JSON Lines, one envelope a line'
complete -c pi7 -n "__fish_pi7_needs_command" -f -a "pending" -d 'List the deliveries not handled yet (held, or left by an interrupted command), or with `--failed` those parked after their handler failed'
complete -c pi7 -n "__fish_pi7_needs_command" -f -a "dispatch" -d 'Deliver pending deliveries, printing each as it is made'
complete -c pi7 -n "__fish_pi7_needs_command" -f -a "redeliver" -d 'Deliver an already handled event again, as an at-least-once broker may, or retry a delivery parked after failing'
complete -c pi7 -n "__fish_pi7_needs_command" -f -a "check" -d 'Explore every order in which an order\'s events can be delivered, and check that every one ends the same, correct way'
complete -c pi7 -n "__fish_pi7_needs_command" -f -a "verify" -d 'Audit a database: integrity, log, deliveries, the saga\'s invariants, and the documents against a replay of the log'
complete -c pi7 -n "__fish_pi7_needs_command" -f -a "rebuild" -d 'Recompute every document from the log and replace the stored ones by them'
complete -c pi7 -n "__fish_pi7_needs_command" -f -a "export" -d 'Write the log as JSON Lines, for `pi7 import`'
complete -c pi7 -n "__fish_pi7_needs_command" -f -a "import" -d 'Take an exported log into this database, checking every event'
complete -c pi7 -n "__fish_pi7_needs_command" -f -a "serve" -d 'Serve the original PI 7\'s web application over the database: its pages (`/`, `/backend.html`, `/log.html`, `/all.html`), its REST API, a view of each process (`/process/ID`) and pi7\'s JSON API under `/api/v1/`'
complete -c pi7 -n "__fish_pi7_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c pi7 -n "__fish_pi7_needs_command" -f -a "info" -d 'Show which database is in use (and why that one), its schema version, its size on disk and what it holds'
complete -c pi7 -n "__fish_pi7_needs_command" -f -a "relay" -d 'Publish the event log on an MQTT broker, in log order, each event at least once; with --inbox, also take orders and commands published there'
complete -c pi7 -n "__fish_pi7_needs_command" -f -a "worker" -d 'Handle pending deliveries as they appear, until Ctrl-C or SIGTERM'
complete -c pi7 -n "__fish_pi7_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pi7 -n "__fish_pi7_using_subcommand submit" -l process -d 'Amend the pending order of this process instead (any ID of the process, or a unique prefix): its lines become the file\'s one order\'s lines, merged by line id; confirmed lines stay confirmed, new lines get reservations, removed lines\' reservations are released' -r
complete -c pi7 -n "__fish_pi7_using_subcommand submit" -l db -d 'The database file [default: pi7.db in the platform data directory, e.g. ~/.local/share/pi7/pi7.db]' -r -F
complete -c pi7 -n "__fish_pi7_using_subcommand submit" -l json -d 'Print machine-readable JSON on stdout instead of tables'
complete -c pi7 -n "__fish_pi7_using_subcommand submit" -s v -l verbose -d 'Print the workflow log on stderr, in the original PI 7\'s style'
complete -c pi7 -n "__fish_pi7_using_subcommand submit" -l hold -d 'Append events and their deliveries but deliver nothing (`pi7 dispatch` delivers them later)'
complete -c pi7 -n "__fish_pi7_using_subcommand submit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pi7 -n "__fish_pi7_using_subcommand list" -l status -d 'Only those with this status (orders: pending, confirmed, cancelled; reservations: unconfirmed, confirmed, rejected, released)' -r -f -a "pending\t''
confirmed\t''
cancelled\t''
unconfirmed\t''
rejected\t''
released\t''"
complete -c pi7 -n "__fish_pi7_using_subcommand list" -l process -d 'Only those of this process (any ID of the process, or a unique prefix)' -r
complete -c pi7 -n "__fish_pi7_using_subcommand list" -l customer -d 'Only those of this customer' -r
complete -c pi7 -n "__fish_pi7_using_subcommand list" -l sort -d 'In this order instead of the order they were made: `status`, `customer` (orders), `reserved` or `since` (reservations: when their status last changed)' -r -f -a "status\t''
customer\t''
reserved\t''
since\t''"
complete -c pi7 -n "__fish_pi7_using_subcommand list" -l limit -d 'At most this many (after sorting)' -r
complete -c pi7 -n "__fish_pi7_using_subcommand list" -l db -d 'The database file [default: pi7.db in the platform data directory, e.g. ~/.local/share/pi7/pi7.db]' -r -F
complete -c pi7 -n "__fish_pi7_using_subcommand list" -l reverse -d 'The other way round (with `--sort`, or newest first without)'
complete -c pi7 -n "__fish_pi7_using_subcommand list" -l json -d 'Print machine-readable JSON on stdout instead of tables'
complete -c pi7 -n "__fish_pi7_using_subcommand list" -s v -l verbose -d 'Print the workflow log on stderr, in the original PI 7\'s style'
complete -c pi7 -n "__fish_pi7_using_subcommand list" -l hold -d 'Append events and their deliveries but deliver nothing (`pi7 dispatch` delivers them later)'
complete -c pi7 -n "__fish_pi7_using_subcommand list" -s h -l help -d 'Print help'
complete -c pi7 -n "__fish_pi7_using_subcommand confirm" -l db -d 'The database file [default: pi7.db in the platform data directory, e.g. ~/.local/share/pi7/pi7.db]' -r -F
complete -c pi7 -n "__fish_pi7_using_subcommand confirm" -l json -d 'Print machine-readable JSON on stdout instead of tables'
complete -c pi7 -n "__fish_pi7_using_subcommand confirm" -s v -l verbose -d 'Print the workflow log on stderr, in the original PI 7\'s style'
complete -c pi7 -n "__fish_pi7_using_subcommand confirm" -l hold -d 'Append events and their deliveries but deliver nothing (`pi7 dispatch` delivers them later)'
complete -c pi7 -n "__fish_pi7_using_subcommand confirm" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pi7 -n "__fish_pi7_using_subcommand reject" -l reason -d 'Why, as the order and the reservation will say' -r
complete -c pi7 -n "__fish_pi7_using_subcommand reject" -l db -d 'The database file [default: pi7.db in the platform data directory, e.g. ~/.local/share/pi7/pi7.db]' -r -F
complete -c pi7 -n "__fish_pi7_using_subcommand reject" -l json -d 'Print machine-readable JSON on stdout instead of tables'
complete -c pi7 -n "__fish_pi7_using_subcommand reject" -s v -l verbose -d 'Print the workflow log on stderr, in the original PI 7\'s style'
complete -c pi7 -n "__fish_pi7_using_subcommand reject" -l hold -d 'Append events and their deliveries but deliver nothing (`pi7 dispatch` delivers them later)'
complete -c pi7 -n "__fish_pi7_using_subcommand reject" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pi7 -n "__fish_pi7_using_subcommand cancel" -l reason -d 'Why, as the order will say' -r
complete -c pi7 -n "__fish_pi7_using_subcommand cancel" -l db -d 'The database file [default: pi7.db in the platform data directory, e.g. ~/.local/share/pi7/pi7.db]' -r -F
complete -c pi7 -n "__fish_pi7_using_subcommand cancel" -l json -d 'Print machine-readable JSON on stdout instead of tables'
complete -c pi7 -n "__fish_pi7_using_subcommand cancel" -s v -l verbose -d 'Print the workflow log on stderr, in the original PI 7\'s style'
complete -c pi7 -n "__fish_pi7_using_subcommand cancel" -l hold -d 'Append events and their deliveries but deliver nothing (`pi7 dispatch` delivers them later)'
complete -c pi7 -n "__fish_pi7_using_subcommand cancel" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pi7 -n "__fish_pi7_using_subcommand expire" -l older-than -d 'How old an unconfirmed reservation may get: `90s`, `30m`, `2h`, `1d`, `1h 30m`...' -r
complete -c pi7 -n "__fish_pi7_using_subcommand expire" -l db -d 'The database file [default: pi7.db in the platform data directory, e.g. ~/.local/share/pi7/pi7.db]' -r -F
complete -c pi7 -n "__fish_pi7_using_subcommand expire" -l json -d 'Print machine-readable JSON on stdout instead of tables'
complete -c pi7 -n "__fish_pi7_using_subcommand expire" -s v -l verbose -d 'Print the workflow log on stderr, in the original PI 7\'s style'
complete -c pi7 -n "__fish_pi7_using_subcommand expire" -l hold -d 'Append events and their deliveries but deliver nothing (`pi7 dispatch` delivers them later)'
complete -c pi7 -n "__fish_pi7_using_subcommand expire" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pi7 -n "__fish_pi7_using_subcommand show" -l at -d 'Show it as it was just after event SEQ, with the events up to SEQ only; a SEQ past the end of the log shows it as the whole log makes it. Exits 3 if it did not exist yet' -r
complete -c pi7 -n "__fish_pi7_using_subcommand show" -l db -d 'The database file [default: pi7.db in the platform data directory, e.g. ~/.local/share/pi7/pi7.db]' -r -F
complete -c pi7 -n "__fish_pi7_using_subcommand show" -l json -d 'Print machine-readable JSON on stdout instead of tables'
complete -c pi7 -n "__fish_pi7_using_subcommand show" -s v -l verbose -d 'Print the workflow log on stderr, in the original PI 7\'s style'
complete -c pi7 -n "__fish_pi7_using_subcommand show" -l hold -d 'Append events and their deliveries but deliver nothing (`pi7 dispatch` delivers them later)'
complete -c pi7 -n "__fish_pi7_using_subcommand show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pi7 -n "__fish_pi7_using_subcommand events" -l process -d 'Only the events of this process (any ID of the process, or a unique prefix)' -r
complete -c pi7 -n "__fish_pi7_using_subcommand events" -l topic -d 'Only the events of this topic' -r -f -a "salesorder/request\t''
reservation/confirm\t''
salesorder/confirm\t''
reservation/reject\t''
salesorder/cancel\t''
reservation/release\t''"
complete -c pi7 -n "__fish_pi7_using_subcommand events" -l since -d 'Only the events after this seq' -r
complete -c pi7 -n "__fish_pi7_using_subcommand events" -l db -d 'The database file [default: pi7.db in the platform data directory, e.g. ~/.local/share/pi7/pi7.db]' -r -F
complete -c pi7 -n "__fish_pi7_using_subcommand events" -s f -l follow -d 'Keep running and print new events as they land (stop with Ctrl-C)'
complete -c pi7 -n "__fish_pi7_using_subcommand events" -l json -d 'Print machine-readable JSON on stdout instead of tables'
complete -c pi7 -n "__fish_pi7_using_subcommand events" -s v -l verbose -d 'Print the workflow log on stderr, in the original PI 7\'s style'
complete -c pi7 -n "__fish_pi7_using_subcommand events" -l hold -d 'Append events and their deliveries but deliver nothing (`pi7 dispatch` delivers them later)'
complete -c pi7 -n "__fish_pi7_using_subcommand events" -s h -l help -d 'Print help'
complete -c pi7 -n "__fish_pi7_using_subcommand pending" -l to -d 'Only deliveries to this component' -r -f -a "salesorder\t''
reservation\t''"
complete -c pi7 -n "__fish_pi7_using_subcommand pending" -l process -d 'Only deliveries of this process\'s events (any ID of the process, or a unique prefix)' -r
complete -c pi7 -n "__fish_pi7_using_subcommand pending" -l db -d 'The database file [default: pi7.db in the platform data directory, e.g. ~/.local/share/pi7/pi7.db]' -r -F
complete -c pi7 -n "__fish_pi7_using_subcommand pending" -l failed -d 'List parked deliveries instead: those whose handler failed'
complete -c pi7 -n "__fish_pi7_using_subcommand pending" -l json -d 'Print machine-readable JSON on stdout instead of tables'
complete -c pi7 -n "__fish_pi7_using_subcommand pending" -s v -l verbose -d 'Print the workflow log on stderr, in the original PI 7\'s style'
complete -c pi7 -n "__fish_pi7_using_subcommand pending" -l hold -d 'Append events and their deliveries but deliver nothing (`pi7 dispatch` delivers them later)'
complete -c pi7 -n "__fish_pi7_using_subcommand pending" -s h -l help -d 'Print help'
complete -c pi7 -n "__fish_pi7_using_subcommand dispatch" -l order -d 'In which order to take pending deliveries' -r -f -a "fifo\t'Oldest delivery first'
lifo\t'Newest delivery first'
random\t'Uniformly at random, reproducible with --seed'"
complete -c pi7 -n "__fish_pi7_using_subcommand dispatch" -l seed -d 'The seed of `--order random`; the same seed gives the same order [default: 0]' -r
complete -c pi7 -n "__fish_pi7_using_subcommand dispatch" -l to -d 'Only deliveries to this component' -r -f -a "salesorder\t''
reservation\t''"
complete -c pi7 -n "__fish_pi7_using_subcommand dispatch" -l process -d 'Only deliveries of this process\'s events (any ID of the process, or a unique prefix)' -r
complete -c pi7 -n "__fish_pi7_using_subcommand dispatch" -l limit -d 'At most this many deliveries (1 or more)' -r
complete -c pi7 -n "__fish_pi7_using_subcommand dispatch" -l db -d 'The database file [default: pi7.db in the platform data directory, e.g. ~/.local/share/pi7/pi7.db]' -r -F
complete -c pi7 -n "__fish_pi7_using_subcommand dispatch" -l json -d 'Print machine-readable JSON on stdout instead of tables'
complete -c pi7 -n "__fish_pi7_using_subcommand dispatch" -s v -l verbose -d 'Print the workflow log on stderr, in the original PI 7\'s style'
complete -c pi7 -n "__fish_pi7_using_subcommand dispatch" -l hold -d 'Append events and their deliveries but deliver nothing (`pi7 dispatch` delivers them later)'
complete -c pi7 -n "__fish_pi7_using_subcommand dispatch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pi7 -n "__fish_pi7_using_subcommand redeliver" -l to -d 'Only to this component [default: every component the event is routed to]' -r -f -a "salesorder\t''
reservation\t''"
complete -c pi7 -n "__fish_pi7_using_subcommand redeliver" -l db -d 'The database file [default: pi7.db in the platform data directory, e.g. ~/.local/share/pi7/pi7.db]' -r -F
complete -c pi7 -n "__fish_pi7_using_subcommand redeliver" -l json -d 'Print machine-readable JSON on stdout instead of tables'
complete -c pi7 -n "__fish_pi7_using_subcommand redeliver" -s v -l verbose -d 'Print the workflow log on stderr, in the original PI 7\'s style'
complete -c pi7 -n "__fish_pi7_using_subcommand redeliver" -l hold -d 'Append events and their deliveries but deliver nothing (`pi7 dispatch` delivers them later)'
complete -c pi7 -n "__fish_pi7_using_subcommand redeliver" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pi7 -n "__fish_pi7_using_subcommand check" -l reject -d 'Reject this line\'s reservation instead of confirming it' -r
complete -c pi7 -n "__fish_pi7_using_subcommand check" -l amend -d 'The customer also amends the order to the one in this file, at every moment it can' -r
complete -c pi7 -n "__fish_pi7_using_subcommand check" -l max-states -d 'Refuse (exit 2) an order whose state space is estimated larger than this, and stop there if the estimate was short; about 500 MB per million states' -r
complete -c pi7 -n "__fish_pi7_using_subcommand check" -l db -d 'The database file [default: pi7.db in the platform data directory, e.g. ~/.local/share/pi7/pi7.db]' -r -F
complete -c pi7 -n "__fish_pi7_using_subcommand check" -l duplicates -d 'Also deliver every handled event a second time, in every position'
complete -c pi7 -n "__fish_pi7_using_subcommand check" -l crashes -d 'Also crash the walkthrough at every write in turn, recover, and check that every effect still happened exactly once'
complete -c pi7 -n "__fish_pi7_using_subcommand check" -l cancel -d 'The customer also withdraws the order, at every moment it can'
complete -c pi7 -n "__fish_pi7_using_subcommand check" -l full -d 'Explore every state, without treating interchangeable lines as one (slower; for comparing with the reduced search)'
complete -c pi7 -n "__fish_pi7_using_subcommand check" -l json -d 'Print machine-readable JSON on stdout instead of tables'
complete -c pi7 -n "__fish_pi7_using_subcommand check" -s v -l verbose -d 'Print the workflow log on stderr, in the original PI 7\'s style'
complete -c pi7 -n "__fish_pi7_using_subcommand check" -l hold -d 'Append events and their deliveries but deliver nothing (`pi7 dispatch` delivers them later)'
complete -c pi7 -n "__fish_pi7_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pi7 -n "__fish_pi7_using_subcommand verify" -l db -d 'The database file [default: pi7.db in the platform data directory, e.g. ~/.local/share/pi7/pi7.db]' -r -F
complete -c pi7 -n "__fish_pi7_using_subcommand verify" -l json -d 'Print machine-readable JSON on stdout instead of tables'
complete -c pi7 -n "__fish_pi7_using_subcommand verify" -s v -l verbose -d 'Print the workflow log on stderr, in the original PI 7\'s style'
complete -c pi7 -n "__fish_pi7_using_subcommand verify" -l hold -d 'Append events and their deliveries but deliver nothing (`pi7 dispatch` delivers them later)'
complete -c pi7 -n "__fish_pi7_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pi7 -n "__fish_pi7_using_subcommand rebuild" -l db -d 'The database file [default: pi7.db in the platform data directory, e.g. ~/.local/share/pi7/pi7.db]' -r -F
complete -c pi7 -n "__fish_pi7_using_subcommand rebuild" -l json -d 'Print machine-readable JSON on stdout instead of tables'
complete -c pi7 -n "__fish_pi7_using_subcommand rebuild" -s v -l verbose -d 'Print the workflow log on stderr, in the original PI 7\'s style'
complete -c pi7 -n "__fish_pi7_using_subcommand rebuild" -l hold -d 'Append events and their deliveries but deliver nothing (`pi7 dispatch` delivers them later)'
complete -c pi7 -n "__fish_pi7_using_subcommand rebuild" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pi7 -n "__fish_pi7_using_subcommand export" -l process -d 'Only the events of this process (any ID of the process, or a unique prefix)' -r
complete -c pi7 -n "__fish_pi7_using_subcommand export" -s o -l output -d 'Write to FILE instead of standard output; FILE is replaced only once the whole log is written, and pi7 then prints how many events it holds' -r -F
complete -c pi7 -n "__fish_pi7_using_subcommand export" -l db -d 'The database file [default: pi7.db in the platform data directory, e.g. ~/.local/share/pi7/pi7.db]' -r -F
complete -c pi7 -n "__fish_pi7_using_subcommand export" -l json -d 'Print machine-readable JSON on stdout instead of tables'
complete -c pi7 -n "__fish_pi7_using_subcommand export" -s v -l verbose -d 'Print the workflow log on stderr, in the original PI 7\'s style'
complete -c pi7 -n "__fish_pi7_using_subcommand export" -l hold -d 'Append events and their deliveries but deliver nothing (`pi7 dispatch` delivers them later)'
complete -c pi7 -n "__fish_pi7_using_subcommand export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pi7 -n "__fish_pi7_using_subcommand import" -l db -d 'The database file [default: pi7.db in the platform data directory, e.g. ~/.local/share/pi7/pi7.db]' -r -F
complete -c pi7 -n "__fish_pi7_using_subcommand import" -l json -d 'Print machine-readable JSON on stdout instead of tables'
complete -c pi7 -n "__fish_pi7_using_subcommand import" -s v -l verbose -d 'Print the workflow log on stderr, in the original PI 7\'s style'
complete -c pi7 -n "__fish_pi7_using_subcommand import" -l hold -d 'Append events and their deliveries but deliver nothing (`pi7 dispatch` delivers them later)'
complete -c pi7 -n "__fish_pi7_using_subcommand import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pi7 -n "__fish_pi7_using_subcommand serve" -l addr -d 'Where to listen, HOST:PORT; port 0 picks a free port. An address other machines can reach needs --token' -r
complete -c pi7 -n "__fish_pi7_using_subcommand serve" -l token -d 'Every write then needs `Authorization: Bearer TOKEN`' -r
complete -c pi7 -n "__fish_pi7_using_subcommand serve" -l db -d 'The database file [default: pi7.db in the platform data directory, e.g. ~/.local/share/pi7/pi7.db]' -r -F
complete -c pi7 -n "__fish_pi7_using_subcommand serve" -l json -d 'Print machine-readable JSON on stdout instead of tables'
complete -c pi7 -n "__fish_pi7_using_subcommand serve" -s v -l verbose -d 'Print the workflow log on stderr, in the original PI 7\'s style'
complete -c pi7 -n "__fish_pi7_using_subcommand serve" -l hold -d 'Append events and their deliveries but deliver nothing (`pi7 dispatch` delivers them later)'
complete -c pi7 -n "__fish_pi7_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pi7 -n "__fish_pi7_using_subcommand completions" -l db -d 'The database file [default: pi7.db in the platform data directory, e.g. ~/.local/share/pi7/pi7.db]' -r -F
complete -c pi7 -n "__fish_pi7_using_subcommand completions" -l json -d 'Print machine-readable JSON on stdout instead of tables'
complete -c pi7 -n "__fish_pi7_using_subcommand completions" -s v -l verbose -d 'Print the workflow log on stderr, in the original PI 7\'s style'
complete -c pi7 -n "__fish_pi7_using_subcommand completions" -l hold -d 'Append events and their deliveries but deliver nothing (`pi7 dispatch` delivers them later)'
complete -c pi7 -n "__fish_pi7_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pi7 -n "__fish_pi7_using_subcommand info" -l db -d 'The database file [default: pi7.db in the platform data directory, e.g. ~/.local/share/pi7/pi7.db]' -r -F
complete -c pi7 -n "__fish_pi7_using_subcommand info" -l json -d 'Print machine-readable JSON on stdout instead of tables'
complete -c pi7 -n "__fish_pi7_using_subcommand info" -s v -l verbose -d 'Print the workflow log on stderr, in the original PI 7\'s style'
complete -c pi7 -n "__fish_pi7_using_subcommand info" -l hold -d 'Append events and their deliveries but deliver nothing (`pi7 dispatch` delivers them later)'
complete -c pi7 -n "__fish_pi7_using_subcommand info" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pi7 -n "__fish_pi7_using_subcommand relay" -l mqtt -d 'The broker: mqtt://HOST[:PORT] (1883) or mqtts://HOST[:PORT] (8883)' -r
complete -c pi7 -n "__fish_pi7_using_subcommand relay" -l since -d 'Publish again from the event after SEQ' -r
complete -c pi7 -n "__fish_pi7_using_subcommand relay" -l name -d 'The relay\'s name: each name keeps its own position (one per broker)' -r
complete -c pi7 -n "__fish_pi7_using_subcommand relay" -l lease -d 'How long a relay that stopped answering keeps the others standing by' -r
complete -c pi7 -n "__fish_pi7_using_subcommand relay" -l poll -d 'How often to look for new events once caught up' -r
complete -c pi7 -n "__fish_pi7_using_subcommand relay" -l db -d 'The database file [default: pi7.db in the platform data directory, e.g. ~/.local/share/pi7/pi7.db]' -r -F
complete -c pi7 -n "__fish_pi7_using_subcommand relay" -l inbox -d 'Also take the original\'s `salesorder/request` messages and the commands on `pi7/command/confirm`, `pi7/command/reject` and `pi7/command/cancel`; what cannot be taken goes to `pi7/deadletter`'
complete -c pi7 -n "__fish_pi7_using_subcommand relay" -l from-start -d 'Publish the whole log again, from its first event'
complete -c pi7 -n "__fish_pi7_using_subcommand relay" -l json -d 'Print machine-readable JSON on stdout instead of tables'
complete -c pi7 -n "__fish_pi7_using_subcommand relay" -s v -l verbose -d 'Print the workflow log on stderr, in the original PI 7\'s style'
complete -c pi7 -n "__fish_pi7_using_subcommand relay" -l hold -d 'Append events and their deliveries but deliver nothing (`pi7 dispatch` delivers them later)'
complete -c pi7 -n "__fish_pi7_using_subcommand relay" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pi7 -n "__fish_pi7_using_subcommand worker" -l concurrency -d 'How many deliveries to handle at once (threads, each with its own connection)' -r
complete -c pi7 -n "__fish_pi7_using_subcommand worker" -l db -d 'The database file [default: pi7.db in the platform data directory, e.g. ~/.local/share/pi7/pi7.db]' -r -F
complete -c pi7 -n "__fish_pi7_using_subcommand worker" -l json -d 'Print machine-readable JSON on stdout instead of tables'
complete -c pi7 -n "__fish_pi7_using_subcommand worker" -s v -l verbose -d 'Print the workflow log on stderr, in the original PI 7\'s style'
complete -c pi7 -n "__fish_pi7_using_subcommand worker" -l hold -d 'Append events and their deliveries but deliver nothing (`pi7 dispatch` delivers them later)'
complete -c pi7 -n "__fish_pi7_using_subcommand worker" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pi7 -n "__fish_pi7_using_subcommand help; and not __fish_seen_subcommand_from submit list confirm reject cancel expire show events pending dispatch redeliver check verify rebuild export import serve completions info relay worker help" -f -a "submit" -d 'Submit one order or many: assigns each a processId, publishes `salesorder/request` and delivers it'
complete -c pi7 -n "__fish_pi7_using_subcommand help; and not __fish_seen_subcommand_from submit list confirm reject cancel expire show events pending dispatch redeliver check verify rebuild export import serve completions info relay worker help" -f -a "list" -d 'List sales orders or reservations'
complete -c pi7 -n "__fish_pi7_using_subcommand help; and not __fish_seen_subcommand_from submit list confirm reject cancel expire show events pending dispatch redeliver check verify rebuild export import serve completions info relay worker help" -f -a "confirm" -d 'Confirm reservations: each publishes `reservation/confirm`, and the sales order is confirmed once all its lines are'
complete -c pi7 -n "__fish_pi7_using_subcommand help; and not __fish_seen_subcommand_from submit list confirm reject cancel expire show events pending dispatch redeliver check verify rebuild export import serve completions info relay worker help" -f -a "reject" -d 'Reject reservations: each becomes `rejected` and publishes `reservation/reject`; the saga cancels the order and every other reservation of it is released'
complete -c pi7 -n "__fish_pi7_using_subcommand help; and not __fish_seen_subcommand_from submit list confirm reject cancel expire show events pending dispatch redeliver check verify rebuild export import serve completions info relay worker help" -f -a "cancel" -d 'Cancel a pending order for the customer: it becomes `cancelled` and publishes `salesorder/cancel`, and every reservation of it is released'
complete -c pi7 -n "__fish_pi7_using_subcommand help; and not __fish_seen_subcommand_from submit list confirm reject cancel expire show events pending dispatch redeliver check verify rebuild export import serve completions info relay worker help" -f -a "expire" -d 'Reject, with reason "expired", every unconfirmed reservation made longer ago than DURATION; their orders are cancelled and compensated as by `pi7 reject`'
complete -c pi7 -n "__fish_pi7_using_subcommand help; and not __fish_seen_subcommand_from submit list confirm reject cancel expire show events pending dispatch redeliver check verify rebuild export import serve completions info relay worker help" -f -a "show" -d 'Show a sales order, a reservation or a process: its document, lines, history and the events of its process'
complete -c pi7 -n "__fish_pi7_using_subcommand help; and not __fish_seen_subcommand_from submit list confirm reject cancel expire show events pending dispatch redeliver check verify rebuild export import serve completions info relay worker help" -f -a "events" -d 'Print the event log in `seq` order, as a table or (with `--json`) JSON Lines, one envelope a line'
complete -c pi7 -n "__fish_pi7_using_subcommand help; and not __fish_seen_subcommand_from submit list confirm reject cancel expire show events pending dispatch redeliver check verify rebuild export import serve completions info relay worker help" -f -a "pending" -d 'List the deliveries not handled yet (held, or left by an interrupted command), or with `--failed` those parked after their handler failed'
complete -c pi7 -n "__fish_pi7_using_subcommand help; and not __fish_seen_subcommand_from submit list confirm reject cancel expire show events pending dispatch redeliver check verify rebuild export import serve completions info relay worker help" -f -a "dispatch" -d 'Deliver pending deliveries, printing each as it is made'
complete -c pi7 -n "__fish_pi7_using_subcommand help; and not __fish_seen_subcommand_from submit list confirm reject cancel expire show events pending dispatch redeliver check verify rebuild export import serve completions info relay worker help" -f -a "redeliver" -d 'Deliver an already handled event again, as an at-least-once broker may, or retry a delivery parked after failing'
complete -c pi7 -n "__fish_pi7_using_subcommand help; and not __fish_seen_subcommand_from submit list confirm reject cancel expire show events pending dispatch redeliver check verify rebuild export import serve completions info relay worker help" -f -a "check" -d 'Explore every order in which an order\'s events can be delivered, and check that every one ends the same, correct way'
complete -c pi7 -n "__fish_pi7_using_subcommand help; and not __fish_seen_subcommand_from submit list confirm reject cancel expire show events pending dispatch redeliver check verify rebuild export import serve completions info relay worker help" -f -a "verify" -d 'Audit a database: integrity, log, deliveries, the saga\'s invariants, and the documents against a replay of the log'
complete -c pi7 -n "__fish_pi7_using_subcommand help; and not __fish_seen_subcommand_from submit list confirm reject cancel expire show events pending dispatch redeliver check verify rebuild export import serve completions info relay worker help" -f -a "rebuild" -d 'Recompute every document from the log and replace the stored ones by them'
complete -c pi7 -n "__fish_pi7_using_subcommand help; and not __fish_seen_subcommand_from submit list confirm reject cancel expire show events pending dispatch redeliver check verify rebuild export import serve completions info relay worker help" -f -a "export" -d 'Write the log as JSON Lines, for `pi7 import`'
complete -c pi7 -n "__fish_pi7_using_subcommand help; and not __fish_seen_subcommand_from submit list confirm reject cancel expire show events pending dispatch redeliver check verify rebuild export import serve completions info relay worker help" -f -a "import" -d 'Take an exported log into this database, checking every event'
complete -c pi7 -n "__fish_pi7_using_subcommand help; and not __fish_seen_subcommand_from submit list confirm reject cancel expire show events pending dispatch redeliver check verify rebuild export import serve completions info relay worker help" -f -a "serve" -d 'Serve the original PI 7\'s web application over the database: its pages (`/`, `/backend.html`, `/log.html`, `/all.html`), its REST API, a view of each process (`/process/ID`) and pi7\'s JSON API under `/api/v1/`'
complete -c pi7 -n "__fish_pi7_using_subcommand help; and not __fish_seen_subcommand_from submit list confirm reject cancel expire show events pending dispatch redeliver check verify rebuild export import serve completions info relay worker help" -f -a "completions" -d 'Print a shell completion script'
complete -c pi7 -n "__fish_pi7_using_subcommand help; and not __fish_seen_subcommand_from submit list confirm reject cancel expire show events pending dispatch redeliver check verify rebuild export import serve completions info relay worker help" -f -a "info" -d 'Show which database is in use (and why that one), its schema version, its size on disk and what it holds'
complete -c pi7 -n "__fish_pi7_using_subcommand help; and not __fish_seen_subcommand_from submit list confirm reject cancel expire show events pending dispatch redeliver check verify rebuild export import serve completions info relay worker help" -f -a "relay" -d 'Publish the event log on an MQTT broker, in log order, each event at least once; with --inbox, also take orders and commands published there'
complete -c pi7 -n "__fish_pi7_using_subcommand help; and not __fish_seen_subcommand_from submit list confirm reject cancel expire show events pending dispatch redeliver check verify rebuild export import serve completions info relay worker help" -f -a "worker" -d 'Handle pending deliveries as they appear, until Ctrl-C or SIGTERM'
complete -c pi7 -n "__fish_pi7_using_subcommand help; and not __fish_seen_subcommand_from submit list confirm reject cancel expire show events pending dispatch redeliver check verify rebuild export import serve completions info relay worker help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
