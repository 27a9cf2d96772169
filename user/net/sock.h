/* SPDX-License-Identifier: BSD-2-Clause */
/* Socket helpers: listeners, non-blocking connects, buffer sizing, TCP state. */
#ifndef XDP_NET_SOCK_H
#define XDP_NET_SOCK_H

#include <stdint.h>
#include <sys/socket.h>

/*
 * Non-blocking TCP listener on addr with SO_REUSEADDR; sndbuf/rcvbuf (0 =
 * default) are set before listen() so accepted sockets inherit them and the
 * window scale is negotiated for them. Returns the fd or -errno.
 */
int sock_listen(const struct sockaddr_storage *addr, socklen_t len, int backlog,
		uint64_t sndbuf, uint64_t rcvbuf);

/*
 * As sock_listen, with SO_REUSEPORT: each worker of a listener opens its own
 * socket on the same address and the kernel spreads connections over them.
 */
int sock_listen_reuseport(const struct sockaddr_storage *addr, socklen_t len, int backlog,
			  uint64_t sndbuf, uint64_t rcvbuf);

/*
 * Non-blocking connect. Returns the fd (connect in progress or done) or
 * -errno when the socket could not be created or connect failed at once.
 */
int sock_connect_nb(const struct sockaddr_storage *addr, socklen_t len, uint64_t sndbuf,
		    uint64_t rcvbuf);

/* Pending SO_ERROR of a socket (0 = connected), or -errno of getsockopt. */
int sock_error(int fd);

/*
 * Set buffer sizes, with SO_*BUFFORCE when privileged so the sysctl caps
 * (net.core.wmem_max) do not silently shrink them. 0 leaves a size alone.
 */
int sock_set_bufs(int fd, uint64_t sndbuf, uint64_t rcvbuf);

/*
 * Bytes ever written into this socket's send path:
 * tcpi_bytes_acked + SIOCOUTQ (acked + not yet acked). Used to see how far
 * the kernel has drained what was redirected or written to it. 0 or -errno.
 */
int sock_tcp_written(int fd, uint64_t *out);

/* Abort with RST: SO_LINGER {1, 0} then close. */
void sock_close_rst(int fd);

#endif
