/* SPDX-License-Identifier: BSD-2-Clause */
/* What the xdproxy command's source files share. */
#ifndef XDP_CLI_CLI_H
#define XDP_CLI_CLI_H

#include <stdbool.h>
#include <stdio.h>

struct cfg;

/* Load FILE ('-' = the embedded default); prints file:line:col errors. */
struct cfg *cli_load_cfg(const char *path);

/* The load balancer's commands (lb_cmd.c). */
bool lb_cmd_known(const char *cmd);
/* argv[1] is the command; returns the exit status. */
int lb_cmd_main(int argc, char **argv);
void lb_cmd_usage(FILE *f);

/* `xdproxy intercept` (intercept_cmd.c); argv[1] is "intercept". */
int intercept_cmd_main(int argc, char **argv);
void intercept_cmd_usage(FILE *f);

#endif
