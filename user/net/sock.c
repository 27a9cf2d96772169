// SPDX-License-Identifier: BSD-2-Clause
#include "net/sock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <linux/tcp.h>	/* tcp_info with tcpi_bytes_acked */
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int sock_set_bufs(int fd, uint64_t sndbuf, uint64_t rcvbuf)
{
	int v;

	if (sndbuf) {
		v = sndbuf > INT32_MAX / 2 ? INT32_MAX / 2 : (int)sndbuf;
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) &&
		    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)))
			return -errno;
	}
	if (rcvbuf) {
		v = rcvbuf > INT32_MAX / 2 ? INT32_MAX / 2 : (int)rcvbuf;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) &&
		    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)))
			return -errno;
	}
	return 0;
}

static int listen_common(const struct sockaddr_storage *addr, socklen_t len, int backlog,
			 uint64_t sndbuf, uint64_t rcvbuf, bool reuseport)
{
	int fd, one = 1, err;

	fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		goto err;
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)))
		goto err;
	if (addr->ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)))
		goto err;
	err = sock_set_bufs(fd, sndbuf, rcvbuf);
	if (err) {
		errno = -err;
		goto err;
	}
	if (bind(fd, (const struct sockaddr *)addr, len) || listen(fd, backlog))
		goto err;
	return fd;
err:
	err = -errno;
	close(fd);
	return err;
}

int sock_listen(const struct sockaddr_storage *addr, socklen_t len, int backlog,
		uint64_t sndbuf, uint64_t rcvbuf)
{
	return listen_common(addr, len, backlog, sndbuf, rcvbuf, false);
}

int sock_listen_reuseport(const struct sockaddr_storage *addr, socklen_t len, int backlog,
			  uint64_t sndbuf, uint64_t rcvbuf)
{
	return listen_common(addr, len, backlog, sndbuf, rcvbuf, true);
}

int sock_connect_nb(const struct sockaddr_storage *addr, socklen_t len, uint64_t sndbuf,
		    uint64_t rcvbuf)
{
	int fd, err;

	fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	err = sock_set_bufs(fd, sndbuf, rcvbuf);
	if (err)
		goto err;
	if (connect(fd, (const struct sockaddr *)addr, len) && errno != EINPROGRESS) {
		err = -errno;
		goto err;
	}
	return fd;
err:
	close(fd);
	return err;
}

int sock_error(int fd)
{
	int e = 0;
	socklen_t l = sizeof(e);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l))
		return -errno;
	return e;
}

int sock_tcp_written(int fd, uint64_t *out)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);
	int outq;

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l))
		return -errno;
	if (ioctl(fd, SIOCOUTQ, &outq))
		return -errno;
	*out = ti.tcpi_bytes_acked + (uint64_t)outq;
	return 0;
}

void sock_close_rst(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}
