// SPDX-License-Identifier: BSD-2-Clause
/*
 * The config the demo runs with when none is given, embedded so that
 * `xdproxy` works out of the box in the namespace topology built by
 * tools/demo.sh: the proxy owns 198.18.1.1 and three origins sit at
 * 198.18.1{1,2,3}.2. The third origin gets twice the weight so the stats
 * show weighted round robin at work.
 */
#include "config/config.h"

const char cfg_default_yaml[] =
	"# xdproxy built-in demo config (see tools/demo.sh)\n"
	"global:\n"
	"  log_level: info\n"
	"  stats_interval: 1s\n"
	"  pin_path: " CFG_DEF_PIN_PATH "\n"
	"listeners:\n"
	"  - name: demo\n"
	"    bind: 198.18.1.1:8080\n"
	"    pool: origins\n"
	"    mode: tcp\n"
	"    splice: kernel\n"
	"pools:\n"
	"  - name: origins\n"
	"    balance: roundrobin\n"
	"    backends:\n"
	"      - address: 198.18.11.2:8000\n"
	"        weight: 1\n"
	"      - address: 198.18.12.2:8000\n"
	"        weight: 1\n"
	"      - address: 198.18.13.2:8000\n"
	"        weight: 2\n";
