/* cli.h - what the subcommands of the synapse command share. Exit codes: 0
 * success, 1 runtime error (one line on stderr), 2 usage error. */
#ifndef SYN_CLI_H
#define SYN_CLI_H

#define SYN_EXIT_OK 0
#define SYN_EXIT_RUNTIME 1
#define SYN_EXIT_USAGE 2

int cmd_demo(int argc, char **argv);

#endif
