# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_dockd_global_optspecs
    string join \n h/help V/version
end

function __fish_dockd_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_dockd_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_dockd_using_subcommand
    set -l cmd (__fish_dockd_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c dockd -n "__fish_dockd_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dockd -n "__fish_dockd_needs_command" -s V -l version -d 'Print version'
complete -c dockd -n "__fish_dockd_needs_command" -f -a "run" -d 'Run the dock daemon'
complete -c dockd -n "__fish_dockd_needs_command" -f -a "check-config" -d 'Check a config file and print the settings it gives'
complete -c dockd -n "__fish_dockd_needs_command" -f -a "demo" -d 'Run the whole dock on this machine with emulated wearables: nothing to set up'
complete -c dockd -n "__fish_dockd_needs_command" -f -a "emulate" -d 'Play emulated wearables against a running dock'
complete -c dockd -n "__fish_dockd_needs_command" -f -a "analyze" -d 'Analyse raw segment files offline (the bytes a wearable\'s READ returns) and print their shifts with every metric. Uses the same analysis as the daemon'
complete -c dockd -n "__fish_dockd_needs_command" -f -a "reanalyze" -d 'Re-analyse everything stored with the current `[analysis]` settings, with a progress bar. The daemon also does this by itself after the settings change'
complete -c dockd -n "__fish_dockd_needs_command" -f -a "user" -d 'Manage who may sign in to the dock\'s page'
complete -c dockd -n "__fish_dockd_needs_command" -f -a "privacy" -d 'The privacy controls\' checks'
complete -c dockd -n "__fish_dockd_needs_command" -f -a "worker" -d 'A worker\'s rights over their data'
complete -c dockd -n "__fish_dockd_needs_command" -f -a "purge" -d 'Delete for good what is past its retention (`[privacy.retention_days]`); the daemon does it daily at `[privacy] purge_at`'
complete -c dockd -n "__fish_dockd_needs_command" -f -a "prepare-key" -d 'Make the database key file (`[privacy] database_key_file`, 0600) if it is missing and the database is not already encrypted; otherwise leave everything as it is. The package\'s dockd-key.service runs it as root before the first start'
complete -c dockd -n "__fish_dockd_needs_command" -f -a "generate-docs" -d 'Write the man pages and shell completions (bash, zsh, fish) generated from this command line into DIR/man and DIR/completions (the package\'s `packaging/generated`)'
complete -c dockd -n "__fish_dockd_needs_command" -f -a "backup" -d 'Write an encrypted backup of the dock (database, its own pseudonym key and certificate) to a new file only you can read; works while the daemon runs. The passphrase is read from standard input\'s first line (at least 12 characters)'
complete -c dockd -n "__fish_dockd_needs_command" -f -a "restore" -d 'Restore a backup into this dock\'s data folder (stop dockd first): the way to replace a dock\'s hardware. The passphrase is read from standard input\'s first line'
complete -c dockd -n "__fish_dockd_needs_command" -f -a "metrics" -d 'Print the running daemon\'s metrics in Prometheus text format'
complete -c dockd -n "__fish_dockd_needs_command" -f -a "status" -d 'Print what the dock has stored, per wearable (works while the daemon runs)'
complete -c dockd -n "__fish_dockd_needs_command" -f -a "selftest" -d 'Check the risk analysis on the built-in reference shifts: exits 0 only if each reproduces its committed counts exactly (a detector that counts differently fails it)'
complete -c dockd -n "__fish_dockd_needs_command" -f -a "update" -d 'Check the release server for a newer signed release ([update] in the config), or install one now: the running daemon installs it and restarts into it on trial, keeping it only if it passes its health check. Exits non-zero, naming the reason, when the release server\'s answer is refused'
complete -c dockd -n "__fish_dockd_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dockd -n "__fish_dockd_using_subcommand run" -s c -l config -r -F
complete -c dockd -n "__fish_dockd_using_subcommand run" -s h -l help -d 'Print help'
complete -c dockd -n "__fish_dockd_using_subcommand check-config" -s c -l config -r -F
complete -c dockd -n "__fish_dockd_using_subcommand check-config" -s h -l help -d 'Print help'
complete -c dockd -n "__fish_dockd_using_subcommand demo" -l wearables -d 'How many emulated wearables dock and re-dock' -r
complete -c dockd -n "__fish_dockd_using_subcommand demo" -l listen -d 'Address of the web page' -r
complete -c dockd -n "__fish_dockd_using_subcommand demo" -l data -d 'Data folder (created if missing)' -r -F
complete -c dockd -n "__fish_dockd_using_subcommand demo" -l seed -d 'Seed of the emulated shifts' -r
complete -c dockd -n "__fish_dockd_using_subcommand demo" -l shift-minutes -d 'Length of each emulated shift, in minutes' -r
complete -c dockd -n "__fish_dockd_using_subcommand demo" -s h -l help -d 'Print help'
complete -c dockd -n "__fish_dockd_using_subcommand emulate" -l connect -d 'The dock\'s emulator address: unix:/path/to.sock or tcp:127.0.0.1:PORT' -r
complete -c dockd -n "__fish_dockd_using_subcommand emulate" -l wearables -r
complete -c dockd -n "__fish_dockd_using_subcommand emulate" -l seed -r
complete -c dockd -n "__fish_dockd_using_subcommand emulate" -l first-serial -d 'Serial number of the first wearable (KW-000001, …)' -r
complete -c dockd -n "__fish_dockd_using_subcommand emulate" -l shift-minutes -d 'Length of each shift, in minutes' -r
complete -c dockd -n "__fish_dockd_using_subcommand emulate" -l segment-minutes -d 'Length of each segment, in minutes' -r
complete -c dockd -n "__fish_dockd_using_subcommand emulate" -l redock-after -d 'Dock again this many seconds after each undocking, with a fresh shift, until Ctrl-C' -r
complete -c dockd -n "__fish_dockd_using_subcommand emulate" -l unplug-after -d 'Fault: unplug after this many bytes of each docking' -r
complete -c dockd -n "__fish_dockd_using_subcommand emulate" -l flip-every -d 'Fault: flip one bit in every Nth response frame' -r
complete -c dockd -n "__fish_dockd_using_subcommand emulate" -l bytes-per-sec -d 'Fault: a slow link of this many bytes per second' -r
complete -c dockd -n "__fish_dockd_using_subcommand emulate" -l answer-error -d 'Fault: answer every request with ERROR of this code' -r
complete -c dockd -n "__fish_dockd_using_subcommand emulate" -l silent -d 'Fault: never answer'
complete -c dockd -n "__fish_dockd_using_subcommand emulate" -l flat-battery -d 'Fault: the battery ran flat; the clock is lost and two segments of an earlier boot remain'
complete -c dockd -n "__fish_dockd_using_subcommand emulate" -l corrupt-segment -d 'Fault: one segment is corrupt (the dock must quarantine it and leave it on the wearable)'
complete -c dockd -n "__fish_dockd_using_subcommand emulate" -s h -l help -d 'Print help'
complete -c dockd -n "__fish_dockd_using_subcommand analyze" -s c -l config -d 'Take `[analysis]` settings (time zone, thresholds, tasks) from this config' -r -F
complete -c dockd -n "__fish_dockd_using_subcommand analyze" -l json -d 'Machine-readable output (keys documented in the README)'
complete -c dockd -n "__fish_dockd_using_subcommand analyze" -s h -l help -d 'Print help'
complete -c dockd -n "__fish_dockd_using_subcommand reanalyze" -s c -l config -r -F
complete -c dockd -n "__fish_dockd_using_subcommand reanalyze" -s h -l help -d 'Print help'
complete -c dockd -n "__fish_dockd_using_subcommand user; and not __fish_seen_subcommand_from add help" -s h -l help -d 'Print help'
complete -c dockd -n "__fish_dockd_using_subcommand user; and not __fish_seen_subcommand_from add help" -f -a "add" -d 'Create a user, or replace the password and role of an existing one. The password is read from the first line of standard input (at least 12 characters), e.g. from a password manager'
complete -c dockd -n "__fish_dockd_using_subcommand user; and not __fish_seen_subcommand_from add help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dockd -n "__fish_dockd_using_subcommand user; and __fish_seen_subcommand_from add" -l role -r -f -a "admin\t'Everything, including users, settings and the audit trail'
supervisor\t'Workers, tasks, roster and the dock'
technician\t'The dock and diagnostics only: never worker data'"
complete -c dockd -n "__fish_dockd_using_subcommand user; and __fish_seen_subcommand_from add" -s c -l config -r -F
complete -c dockd -n "__fish_dockd_using_subcommand user; and __fish_seen_subcommand_from add" -l enable -d 'Enable the user again if an admin disabled them (otherwise they stay disabled)'
complete -c dockd -n "__fish_dockd_using_subcommand user; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dockd -n "__fish_dockd_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "add" -d 'Create a user, or replace the password and role of an existing one. The password is read from the first line of standard input (at least 12 characters), e.g. from a password manager'
complete -c dockd -n "__fish_dockd_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dockd -n "__fish_dockd_using_subcommand privacy; and not __fish_seen_subcommand_from verify report help" -s h -l help -d 'Print help'
complete -c dockd -n "__fish_dockd_using_subcommand privacy; and not __fish_seen_subcommand_from verify report help" -f -a "verify" -d 'Check the audit trail\'s hash chain: an entry changed, removed, reordered or added outside dockd is named; exits 1 unless the chain is intact (works while the daemon runs)'
complete -c dockd -n "__fish_dockd_using_subcommand privacy; and not __fish_seen_subcommand_from verify report help" -f -a "report" -d 'The data inventory: every table the dock keeps, what it holds, its class, how long it is kept and whether it leaves the dock (and as what), with the controls\' state'
complete -c dockd -n "__fish_dockd_using_subcommand privacy; and not __fish_seen_subcommand_from verify report help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dockd -n "__fish_dockd_using_subcommand privacy; and __fish_seen_subcommand_from verify" -s c -l config -r -F
complete -c dockd -n "__fish_dockd_using_subcommand privacy; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help'
complete -c dockd -n "__fish_dockd_using_subcommand privacy; and __fish_seen_subcommand_from report" -s c -l config -r -F
complete -c dockd -n "__fish_dockd_using_subcommand privacy; and __fish_seen_subcommand_from report" -l json -d 'Machine-readable output'
complete -c dockd -n "__fish_dockd_using_subcommand privacy; and __fish_seen_subcommand_from report" -s h -l help -d 'Print help'
complete -c dockd -n "__fish_dockd_using_subcommand privacy; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Check the audit trail\'s hash chain: an entry changed, removed, reordered or added outside dockd is named; exits 1 unless the chain is intact (works while the daemon runs)'
complete -c dockd -n "__fish_dockd_using_subcommand privacy; and __fish_seen_subcommand_from help" -f -a "report" -d 'The data inventory: every table the dock keeps, what it holds, its class, how long it is kept and whether it leaves the dock (and as what), with the controls\' state'
complete -c dockd -n "__fish_dockd_using_subcommand privacy; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dockd -n "__fish_dockd_using_subcommand worker; and not __fish_seen_subcommand_from export delete help" -s h -l help -d 'Print help'
complete -c dockd -n "__fish_dockd_using_subcommand worker; and not __fish_seen_subcommand_from export delete help" -f -a "export" -d 'Export everything the dock holds about one worker into a new folder only you can read: JSON for the person, roster, work restrictions, shift reports, alerts and the audit lines about them, their samples as zstd CSV. The badge tag is read from standard input'
complete -c dockd -n "__fish_dockd_using_subcommand worker; and not __fish_seen_subcommand_from export delete help" -f -a "delete" -d 'Delete for good everything the dock holds about one worker; what stays is the audit entry and a tombstone (their keyed pseudonym) that discards their data still on a wearable. The badge tag is read from standard input\'s first line, the confirmation `yes` from its second (unless `--yes`)'
complete -c dockd -n "__fish_dockd_using_subcommand worker; and not __fish_seen_subcommand_from export delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dockd -n "__fish_dockd_using_subcommand worker; and __fish_seen_subcommand_from export" -s c -l config -r -F
complete -c dockd -n "__fish_dockd_using_subcommand worker; and __fish_seen_subcommand_from export" -l out -d 'The folder to create (it must not exist)' -r -F
complete -c dockd -n "__fish_dockd_using_subcommand worker; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help'
complete -c dockd -n "__fish_dockd_using_subcommand worker; and __fish_seen_subcommand_from delete" -s c -l config -r -F
complete -c dockd -n "__fish_dockd_using_subcommand worker; and __fish_seen_subcommand_from delete" -l yes -d 'Do not ask: delete without reading a confirmation'
complete -c dockd -n "__fish_dockd_using_subcommand worker; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c dockd -n "__fish_dockd_using_subcommand worker; and __fish_seen_subcommand_from help" -f -a "export" -d 'Export everything the dock holds about one worker into a new folder only you can read: JSON for the person, roster, work restrictions, shift reports, alerts and the audit lines about them, their samples as zstd CSV. The badge tag is read from standard input'
complete -c dockd -n "__fish_dockd_using_subcommand worker; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete for good everything the dock holds about one worker; what stays is the audit entry and a tombstone (their keyed pseudonym) that discards their data still on a wearable. The badge tag is read from standard input\'s first line, the confirmation `yes` from its second (unless `--yes`)'
complete -c dockd -n "__fish_dockd_using_subcommand worker; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dockd -n "__fish_dockd_using_subcommand purge" -s c -l config -r -F
complete -c dockd -n "__fish_dockd_using_subcommand purge" -l now -d 'Now, rather than at `purge_at` (the only mode: the daily purge is the daemon\'s)'
complete -c dockd -n "__fish_dockd_using_subcommand purge" -s h -l help -d 'Print help'
complete -c dockd -n "__fish_dockd_using_subcommand prepare-key" -s c -l config -r -F
complete -c dockd -n "__fish_dockd_using_subcommand prepare-key" -s h -l help -d 'Print help'
complete -c dockd -n "__fish_dockd_using_subcommand generate-docs" -l out -r -F
complete -c dockd -n "__fish_dockd_using_subcommand generate-docs" -s h -l help -d 'Print help'
complete -c dockd -n "__fish_dockd_using_subcommand backup" -l out -d 'The backup file to create (it must not exist)' -r -F
complete -c dockd -n "__fish_dockd_using_subcommand backup" -s c -l config -r -F
complete -c dockd -n "__fish_dockd_using_subcommand backup" -s h -l help -d 'Print help'
complete -c dockd -n "__fish_dockd_using_subcommand restore" -s c -l config -r -F
complete -c dockd -n "__fish_dockd_using_subcommand restore" -l replace -d 'Replace an existing database, pseudonym key or certificate (each is kept aside until the restored one is complete)'
complete -c dockd -n "__fish_dockd_using_subcommand restore" -s h -l help -d 'Print help'
complete -c dockd -n "__fish_dockd_using_subcommand metrics" -s c -l config -r -F
complete -c dockd -n "__fish_dockd_using_subcommand metrics" -s h -l help -d 'Print help'
complete -c dockd -n "__fish_dockd_using_subcommand status" -s c -l config -r -F
complete -c dockd -n "__fish_dockd_using_subcommand status" -l json -d 'Machine-readable output'
complete -c dockd -n "__fish_dockd_using_subcommand status" -s h -l help -d 'Print help'
complete -c dockd -n "__fish_dockd_using_subcommand selftest" -l json -d 'Machine-readable output'
complete -c dockd -n "__fish_dockd_using_subcommand selftest" -s h -l help -d 'Print help'
complete -c dockd -n "__fish_dockd_using_subcommand update" -s c -l config -r -F
complete -c dockd -n "__fish_dockd_using_subcommand update" -l check -d 'Only ask what is offered'
complete -c dockd -n "__fish_dockd_using_subcommand update" -l now -d 'Install a newer release now'
complete -c dockd -n "__fish_dockd_using_subcommand update" -s h -l help -d 'Print help'
complete -c dockd -n "__fish_dockd_using_subcommand help; and not __fish_seen_subcommand_from run check-config demo emulate analyze reanalyze user privacy worker purge prepare-key generate-docs backup restore metrics status selftest update help" -f -a "run" -d 'Run the dock daemon'
complete -c dockd -n "__fish_dockd_using_subcommand help; and not __fish_seen_subcommand_from run check-config demo emulate analyze reanalyze user privacy worker purge prepare-key generate-docs backup restore metrics status selftest update help" -f -a "check-config" -d 'Check a config file and print the settings it gives'
complete -c dockd -n "__fish_dockd_using_subcommand help; and not __fish_seen_subcommand_from run check-config demo emulate analyze reanalyze user privacy worker purge prepare-key generate-docs backup restore metrics status selftest update help" -f -a "demo" -d 'Run the whole dock on this machine with emulated wearables: nothing to set up'
complete -c dockd -n "__fish_dockd_using_subcommand help; and not __fish_seen_subcommand_from run check-config demo emulate analyze reanalyze user privacy worker purge prepare-key generate-docs backup restore metrics status selftest update help" -f -a "emulate" -d 'Play emulated wearables against a running dock'
complete -c dockd -n "__fish_dockd_using_subcommand help; and not __fish_seen_subcommand_from run check-config demo emulate analyze reanalyze user privacy worker purge prepare-key generate-docs backup restore metrics status selftest update help" -f -a "analyze" -d 'Analyse raw segment files offline (the bytes a wearable\'s READ returns) and print their shifts with every metric. Uses the same analysis as the daemon'
complete -c dockd -n "__fish_dockd_using_subcommand help; and not __fish_seen_subcommand_from run check-config demo emulate analyze reanalyze user privacy worker purge prepare-key generate-docs backup restore metrics status selftest update help" -f -a "reanalyze" -d 'Re-analyse everything stored with the current `[analysis]` settings, with a progress bar. The daemon also does this by itself after the settings change'
complete -c dockd -n "__fish_dockd_using_subcommand help; and not __fish_seen_subcommand_from run check-config demo emulate analyze reanalyze user privacy worker purge prepare-key generate-docs backup restore metrics status selftest update help" -f -a "user" -d 'Manage who may sign in to the dock\'s page'
complete -c dockd -n "__fish_dockd_using_subcommand help; and not __fish_seen_subcommand_from run check-config demo emulate analyze reanalyze user privacy worker purge prepare-key generate-docs backup restore metrics status selftest update help" -f -a "privacy" -d 'The privacy controls\' checks'
complete -c dockd -n "__fish_dockd_using_subcommand help; and not __fish_seen_subcommand_from run check-config demo emulate analyze reanalyze user privacy worker purge prepare-key generate-docs backup restore metrics status selftest update help" -f -a "worker" -d 'A worker\'s rights over their data'
complete -c dockd -n "__fish_dockd_using_subcommand help; and not __fish_seen_subcommand_from run check-config demo emulate analyze reanalyze user privacy worker purge prepare-key generate-docs backup restore metrics status selftest update help" -f -a "purge" -d 'Delete for good what is past its retention (`[privacy.retention_days]`); the daemon does it daily at `[privacy] purge_at`'
complete -c dockd -n "__fish_dockd_using_subcommand help; and not __fish_seen_subcommand_from run check-config demo emulate analyze reanalyze user privacy worker purge prepare-key generate-docs backup restore metrics status selftest update help" -f -a "prepare-key" -d 'Make the database key file (`[privacy] database_key_file`, 0600) if it is missing and the database is not already encrypted; otherwise leave everything as it is. The package\'s dockd-key.service runs it as root before the first start'
complete -c dockd -n "__fish_dockd_using_subcommand help; and not __fish_seen_subcommand_from run check-config demo emulate analyze reanalyze user privacy worker purge prepare-key generate-docs backup restore metrics status selftest update help" -f -a "generate-docs" -d 'Write the man pages and shell completions (bash, zsh, fish) generated from this command line into DIR/man and DIR/completions (the package\'s `packaging/generated`)'
complete -c dockd -n "__fish_dockd_using_subcommand help; and not __fish_seen_subcommand_from run check-config demo emulate analyze reanalyze user privacy worker purge prepare-key generate-docs backup restore metrics status selftest update help" -f -a "backup" -d 'Write an encrypted backup of the dock (database, its own pseudonym key and certificate) to a new file only you can read; works while the daemon runs. The passphrase is read from standard input\'s first line (at least 12 characters)'
complete -c dockd -n "__fish_dockd_using_subcommand help; and not __fish_seen_subcommand_from run check-config demo emulate analyze reanalyze user privacy worker purge prepare-key generate-docs backup restore metrics status selftest update help" -f -a "restore" -d 'Restore a backup into this dock\'s data folder (stop dockd first): the way to replace a dock\'s hardware. The passphrase is read from standard input\'s first line'
complete -c dockd -n "__fish_dockd_using_subcommand help; and not __fish_seen_subcommand_from run check-config demo emulate analyze reanalyze user privacy worker purge prepare-key generate-docs backup restore metrics status selftest update help" -f -a "metrics" -d 'Print the running daemon\'s metrics in Prometheus text format'
complete -c dockd -n "__fish_dockd_using_subcommand help; and not __fish_seen_subcommand_from run check-config demo emulate analyze reanalyze user privacy worker purge prepare-key generate-docs backup restore metrics status selftest update help" -f -a "status" -d 'Print what the dock has stored, per wearable (works while the daemon runs)'
complete -c dockd -n "__fish_dockd_using_subcommand help; and not __fish_seen_subcommand_from run check-config demo emulate analyze reanalyze user privacy worker purge prepare-key generate-docs backup restore metrics status selftest update help" -f -a "selftest" -d 'Check the risk analysis on the built-in reference shifts: exits 0 only if each reproduces its committed counts exactly (a detector that counts differently fails it)'
complete -c dockd -n "__fish_dockd_using_subcommand help; and not __fish_seen_subcommand_from run check-config demo emulate analyze reanalyze user privacy worker purge prepare-key generate-docs backup restore metrics status selftest update help" -f -a "update" -d 'Check the release server for a newer signed release ([update] in the config), or install one now: the running daemon installs it and restarts into it on trial, keeping it only if it passes its health check. Exits non-zero, naming the reason, when the release server\'s answer is refused'
complete -c dockd -n "__fish_dockd_using_subcommand help; and not __fish_seen_subcommand_from run check-config demo emulate analyze reanalyze user privacy worker purge prepare-key generate-docs backup restore metrics status selftest update help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dockd -n "__fish_dockd_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "add" -d 'Create a user, or replace the password and role of an existing one. The password is read from the first line of standard input (at least 12 characters), e.g. from a password manager'
complete -c dockd -n "__fish_dockd_using_subcommand help; and __fish_seen_subcommand_from privacy" -f -a "verify" -d 'Check the audit trail\'s hash chain: an entry changed, removed, reordered or added outside dockd is named; exits 1 unless the chain is intact (works while the daemon runs)'
complete -c dockd -n "__fish_dockd_using_subcommand help; and __fish_seen_subcommand_from privacy" -f -a "report" -d 'The data inventory: every table the dock keeps, what it holds, its class, how long it is kept and whether it leaves the dock (and as what), with the controls\' state'
complete -c dockd -n "__fish_dockd_using_subcommand help; and __fish_seen_subcommand_from worker" -f -a "export" -d 'Export everything the dock holds about one worker into a new folder only you can read: JSON for the person, roster, work restrictions, shift reports, alerts and the audit lines about them, their samples as zstd CSV. The badge tag is read from standard input'
complete -c dockd -n "__fish_dockd_using_subcommand help; and __fish_seen_subcommand_from worker" -f -a "delete" -d 'Delete for good everything the dock holds about one worker; what stays is the audit entry and a tombstone (their keyed pseudonym) that discards their data still on a wearable. The badge tag is read from standard input\'s first line, the confirmation `yes` from its second (unless `--yes`)'
