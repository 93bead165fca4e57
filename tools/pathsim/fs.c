/* SPDX-License-Identifier: MIT */
/*
 * The FUSE side of pathsim, on the low-level API: one directory holding
 * "control" and the path files p0..p{N-1}.
 *
 * One thread reads requests and never blocks on a path: reads that must
 * wait are kept (sim.c) and answered later from other threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pathsim.h"

#define PS_INO_CONTROL	2
#define PS_INO_PATH0	3
#define PS_ATTR_TIMEOUT	86400.0
/* The kernel's limit: fuse_init_out.max_background is 16 bits. */
#define PS_MAX_BACKGROUND 65535u

enum ps_node {
	PS_NODE_NONE,
	PS_NODE_ROOT,
	PS_NODE_CONTROL,
	PS_NODE_PATH,
};

/*
 * A snapshot of the control table, one per open control file.  They are
 * listed so that unmounting frees those whose RELEASE never came (the
 * kernel sends it asynchronously after close).  Session thread only.
 */
struct ps_snap {
	char *buf;
	size_t len;
	struct ps_snap *prev, *next;
};

static void ps_snap_free(struct ps_fs *fs, struct ps_snap *snap)
{
	if (snap->prev)
		snap->prev->next = snap->next;
	else
		fs->snaps = snap->next;
	if (snap->next)
		snap->next->prev = snap->prev;
	free(snap->buf);
	free(snap);
}

static struct ps_snap *ps_snap_new(struct ps_fs *fs)
{
	struct ps_snap *snap = calloc(1, sizeof(*snap));

	if (snap) {
		snap->next = fs->snaps;
		if (fs->snaps)
			fs->snaps->prev = snap;
		fs->snaps = snap;
	}
	return snap;
}

static enum ps_node ps_node_of(const struct ps_fs *fs, fuse_ino_t ino,
			       unsigned int *path)
{
	if (ino == FUSE_ROOT_ID)
		return PS_NODE_ROOT;
	if (ino == PS_INO_CONTROL)
		return PS_NODE_CONTROL;
	if (ino >= PS_INO_PATH0 && ino - PS_INO_PATH0 < fs->sim->npaths) {
		*path = (unsigned int)(ino - PS_INO_PATH0);
		return PS_NODE_PATH;
	}
	return PS_NODE_NONE;
}

static void ps_fill_stat(const struct ps_fs *fs, fuse_ino_t ino,
			 enum ps_node node, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_atim = st->st_mtim = st->st_ctim = fs->birth;
	st->st_blksize = 4096;
	switch (node) {
	case PS_NODE_ROOT:
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		break;
	case PS_NODE_CONTROL:
		st->st_mode = S_IFREG | 0644;
		st->st_nlink = 1;
		break;
	default:
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = (off_t)fs->sim->size;
		st->st_blocks = (blkcnt_t)(fs->sim->size / 512);
		break;
	}
}

static fuse_ino_t ps_lookup_name(const struct ps_fs *fs, const char *name)
{
	unsigned long long v;

	if (!strcmp(name, "control"))
		return PS_INO_CONTROL;
	if (name[0] == 'p' && !sim_parse_uint(name + 1, PS_MAX_PATHS, &v) &&
	    v < fs->sim->npaths)
		return PS_INO_PATH0 + v;
	return 0;
}

static void ps_op_init(void *userdata, struct fuse_conn_info *conn)
{
	/*
	 * Async direct IO requests are background requests to the kernel,
	 * which blocks every submitter once max_background (default 12) are
	 * out: twelve hung reads would stop all paths.  Ask for the most;
	 * the kernel caps unprivileged servers at fuse.max_user_bgreq.
	 */
	conn->max_background = PS_MAX_BACKGROUND;
	conn->congestion_threshold = PS_MAX_BACKGROUND;
	if (conn->capable & FUSE_CAP_ASYNC_DIO)
		conn->want |= FUSE_CAP_ASYNC_DIO;
	else
		fprintf(stderr, "pathsim: kernel lacks FUSE async_dio: AIO "
			"reads will be synchronous\n");
}

static void ps_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct ps_fs *fs = fuse_req_userdata(req);
	struct fuse_entry_param e;
	unsigned int path;
	fuse_ino_t ino;

	if (parent != FUSE_ROOT_ID) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	ino = ps_lookup_name(fs, name);
	if (!ino) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = ino;
	e.attr_timeout = PS_ATTR_TIMEOUT;
	e.entry_timeout = PS_ATTR_TIMEOUT;
	ps_fill_stat(fs, ino, ps_node_of(fs, ino, &path), &e.attr);
	fuse_reply_entry(req, &e);
}

static void ps_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	fuse_reply_none(req);	/* nothing to free: nodes are computed */
}

static void ps_op_forget_multi(fuse_req_t req, size_t count,
			       struct fuse_forget_data *forgets)
{
	fuse_reply_none(req);
}

static void ps_op_getattr(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct ps_fs *fs = fuse_req_userdata(req);
	enum ps_node node;
	unsigned int path;
	struct stat st;

	node = ps_node_of(fs, ino, &path);
	if (node == PS_NODE_NONE) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	ps_fill_stat(fs, ino, node, &st);
	fuse_reply_attr(req, &st, PS_ATTR_TIMEOUT);
}

/* Only the control file may be "truncated", so that "echo >" works. */
static void ps_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			  int to_set, struct fuse_file_info *fi)
{
	struct ps_fs *fs = fuse_req_userdata(req);
	unsigned int path;
	struct stat st;

	if (ps_node_of(fs, ino, &path) != PS_NODE_CONTROL ||
	    (to_set & ~(FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_ATIME |
			FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |
			FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME))) {
		fuse_reply_err(req, EPERM);
		return;
	}
	ps_fill_stat(fs, ino, PS_NODE_CONTROL, &st);
	fuse_reply_attr(req, &st, PS_ATTR_TIMEOUT);
}

static void ps_op_open(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct ps_fs *fs = fuse_req_userdata(req);
	struct ps_snap *snap;
	unsigned int path;

	/* No page cache: every read must reach us. */
	fi->direct_io = 1;
	fi->keep_cache = 0;
	switch (ps_node_of(fs, ino, &path)) {
	case PS_NODE_PATH:
		if ((fi->flags & O_ACCMODE) != O_RDONLY) {
			fuse_reply_err(req, EACCES);
			return;
		}
		fuse_reply_open(req, fi);
		return;
	case PS_NODE_CONTROL:
		snap = ps_snap_new(fs);
		if (!snap) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		fi->fh = (uint64_t)(uintptr_t)snap;
		if (fuse_reply_open(req, fi))
			ps_snap_free(fs, snap);	/* opener gone: no release */
		return;
	case PS_NODE_ROOT:
		fuse_reply_err(req, EISDIR);
		return;
	default:
		fuse_reply_err(req, ENOENT);
		return;
	}
}

static void ps_op_release(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct ps_fs *fs = fuse_req_userdata(req);
	struct ps_snap *snap = (struct ps_snap *)(uintptr_t)fi->fh;

	if (ino == PS_INO_CONTROL && snap)
		ps_snap_free(fs, snap);
	fuse_reply_err(req, 0);
}

/* The table is taken at offset 0, so one read(2) loop sees one state. */
static void ps_control_read(struct ps_fs *fs, fuse_req_t req, size_t size,
			    off_t off, struct ps_snap *snap)
{
	size_t start, n;
	int ret;

	if (off == 0 || !snap->buf) {
		free(snap->buf);
		snap->buf = NULL;
		ret = ps_sim_table(fs->sim, &snap->buf, &snap->len);
		if (ret) {
			fuse_reply_err(req, -ret);
			return;
		}
	}
	start = (uint64_t)off < snap->len ? (size_t)off : snap->len;
	n = snap->len - start < size ? snap->len - start : size;
	fuse_reply_buf(req, snap->buf + start, n);
}

static void ps_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct ps_fs *fs = fuse_req_userdata(req);
	unsigned int path;

	switch (ps_node_of(fs, ino, &path)) {
	case PS_NODE_PATH:
		ps_sim_read(fs->sim, path, req, size, off);
		return;
	case PS_NODE_CONTROL:
		ps_control_read(fs, req, size, off,
				(struct ps_snap *)(uintptr_t)fi->fh);
		return;
	default:
		fuse_reply_err(req, EISDIR);
		return;
	}
}

static void ps_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
			size_t size, off_t off, struct fuse_file_info *fi)
{
	struct ps_fs *fs = fuse_req_userdata(req);
	struct ps_cmd *cmds;
	size_t n;
	int ret;

	if (ino != PS_INO_CONTROL) {
		fuse_reply_err(req, EACCES);
		return;
	}
	ret = ps_parse_commands(buf, size, fs->sim->npaths, &cmds, &n);
	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	ps_sim_apply(fs->sim, cmds, n);
	free(cmds);
	fuse_reply_write(req, size);
}

/* Directory entry i: ".", "..", "control", then the paths. */
static void ps_dirent(const struct ps_fs *fs, off_t i, char *name,
		      size_t len, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	if (i < 2) {
		snprintf(name, len, i ? ".." : ".");
		st->st_ino = FUSE_ROOT_ID;
		st->st_mode = S_IFDIR;
	} else if (i == 2) {
		snprintf(name, len, "control");
		st->st_ino = PS_INO_CONTROL;
		st->st_mode = S_IFREG;
	} else {
		snprintf(name, len, "p%lld", (long long)(i - 3));
		st->st_ino = (ino_t)(PS_INO_PATH0 + (uint64_t)(i - 3));
		st->st_mode = S_IFREG;
	}
}

static void ps_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			  off_t off, struct fuse_file_info *fi)
{
	struct ps_fs *fs = fuse_req_userdata(req);
	off_t i, nents = 3 + (off_t)fs->sim->npaths;
	size_t used = 0, n;
	char name[32], *buf;
	struct stat st;

	if (ino != FUSE_ROOT_ID) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (i = off < 0 ? 0 : off; i < nents; i++) {
		ps_dirent(fs, i, name, sizeof(name), &st);
		n = fuse_add_direntry(req, buf + used, size - used, name, &st,
				      i + 1);
		if (n > size - used)
			break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static const struct fuse_lowlevel_ops ps_ops = {
	.init = ps_op_init,
	.lookup = ps_op_lookup,
	.forget = ps_op_forget,
	.forget_multi = ps_op_forget_multi,
	.getattr = ps_op_getattr,
	.setattr = ps_op_setattr,
	.open = ps_op_open,
	.read = ps_op_read,
	.write = ps_op_write,
	.release = ps_op_release,
	.readdir = ps_op_readdir,
};

static void *ps_fs_main(void *arg)
{
	struct ps_fs *fs = arg;
	struct fuse_buf buf = { .mem = NULL };
	struct pollfd pfd[2] = {
		{ .fd = fuse_session_fd(fs->se), .events = POLLIN },
		{ .fd = fs->stop_fd, .events = POLLIN },
	};
	int ret;

	while (!fuse_session_exited(fs->se)) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("pathsim: poll");
			break;
		}
		if (pfd[1].revents)
			break;
		ret = fuse_session_receive_buf(fs->se, &buf);
		if (ret == -EINTR || ret == -EAGAIN)
			continue;
		if (ret <= 0)
			break;		/* unmounted, or the connection aborted */
		fuse_session_process_buf(fs->se, &buf);
	}
	free(buf.mem);
	eventfd_write(fs->done_fd, 1);
	return NULL;
}

static int ps_fs_args(struct fuse_args *args, bool debug)
{
	if (fuse_opt_add_arg(args, "pathsim") ||
	    fuse_opt_add_arg(args, "-o") ||
	    fuse_opt_add_arg(args, "fsname=pathsim,subtype=pathsim,"
			     "default_permissions") ||
	    (debug && fuse_opt_add_arg(args, "-d")))
		return -ENOMEM;
	return 0;
}

static int ps_fs_open_session(struct ps_fs *fs, const char *mnt, bool debug)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	int fd, ret;

	ret = ps_fs_args(&args, debug);
	if (!ret) {
		fs->se = fuse_session_new(&args, &ps_ops, sizeof(ps_ops), fs);
		ret = fs->se ? 0 : -EINVAL;
	}
	fuse_opt_free_args(&args);
	if (ret)
		return ret;
	if (fuse_session_mount(fs->se, mnt)) {
		fuse_session_destroy(fs->se);
		fs->se = NULL;
		return -ENODEV;
	}
	/* The session thread polls, so a read must never block it. */
	fd = fuse_session_fd(fs->se);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return 0;
}

/* Returns -ENODEV when FUSE cannot be mounted (libfuse said why). */
int ps_fs_mount(struct ps_fs *fs, struct ps_sim *sim, const char *mnt,
		bool debug)
{
	int ret;

	memset(fs, 0, sizeof(*fs));
	fs->sim = sim;
	fs->uid = getuid();
	fs->gid = getgid();
	clock_gettime(CLOCK_REALTIME, &fs->birth);
	fs->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fs->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fs->stop_fd < 0 || fs->done_fd < 0) {
		ret = -errno;
		goto fail;
	}
	ret = ps_fs_open_session(fs, mnt, debug);
	if (ret)
		goto fail;
	return 0;
fail:
	if (fs->stop_fd >= 0)
		close(fs->stop_fd);
	if (fs->done_fd >= 0)
		close(fs->done_fd);
	fs->stop_fd = fs->done_fd = -1;
	return ret;
}

int ps_fs_start(struct ps_fs *fs)
{
	int ret = pthread_create(&fs->thread, NULL, ps_fs_main, fs);

	if (ret)
		return -ret;
	fs->thread_started = true;
	return 0;
}

/* Ends the session thread; requests still coming fail at unmount. */
void ps_fs_stop(struct ps_fs *fs)
{
	if (!fs->thread_started)
		return;
	eventfd_write(fs->stop_fd, 1);
	pthread_join(fs->thread, NULL);
	fs->thread_started = false;
}

/*
 * Closes /dev/fuse first (the kernel aborts the connection: anything
 * still waiting fails with ENOTCONN), then detaches the mount lazily,
 * so open files elsewhere cannot keep it busy.
 */
void ps_fs_unmount(struct ps_fs *fs)
{
	ps_fs_stop(fs);
	if (fs->se) {
		fuse_session_unmount(fs->se);
		fuse_session_destroy(fs->se);
		fs->se = NULL;
	}
	while (fs->snaps)
		ps_snap_free(fs, fs->snaps);
	if (fs->stop_fd >= 0)
		close(fs->stop_fd);
	if (fs->done_fd >= 0)
		close(fs->done_fd);
	fs->stop_fd = fs->done_fd = -1;
}
