/*
 * test_mailbox.c: two threads post jobs (alone and in lists) at the same
 * moment, wave after wave, and tell the receiver only when a post found
 * the mailbox empty, as writer.c does; the receiver, taking meanwhile,
 * must get every job of every wave, each sender's in its order, without
 * waiting for one that nobody told it about.  (A list posted one job at a
 * time fails this: the receiver takes the first jobs between two posts,
 * and the rest find the mailbox empty but say nothing.)
 */
#include <sys/eventfd.h>

#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pingan.h"
#include "tap.h"

#define SENDERS		2
#define WAVES		50000

static struct mailbox	 box;
static int		 efd;
static pthread_barrier_t start, end;
static atomic_long	 sent;
static atomic_bool	 failed;

static void
tell(void)
{
	uint64_t	 one = 1;

	if (write(efd, &one, sizeof(one)) != sizeof(one))
		abort();
}

static void *
sender(void *arg)
{
	struct wjob_list	 list;
	struct wjob		*job;
	int64_t			 who = (int64_t)(intptr_t)arg, i = 0;
	uint64_t		 seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(who + 1);
	int			 n, k, wave;

	for (wave = 0; wave < WAVES; wave++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		n = 1 + (int)(seed % 8);
		STAILQ_INIT(&list);
		for (k = 0; k < n; k++, i++) {
			if ((job = calloc(1, sizeof(*job))) == NULL)
				abort();
			job->checkin.worker_id = who;
			job->rowid = i;
			STAILQ_INSERT_TAIL(&list, job, entry);
		}
		atomic_fetch_add(&sent, n);
		pthread_barrier_wait(&start);
		if (n == 1) {
			if (mailbox_post(&box, STAILQ_FIRST(&list)))
				tell();
		} else if (mailbox_post_list(&box, &list))
			tell();
		pthread_barrier_wait(&end);
		if (atomic_load(&failed))
			break;
	}
	return NULL;
}

int
main(void)
{
	pthread_t		 t[SENDERS];
	struct wjob_list	 got;
	struct wjob		*job;
	struct pollfd		 pfd;
	int64_t			 next[SENDERS] = { 0 };
	uint64_t		 v;
	long			 total = 0;
	int			 i, wave, disorder = 0, stranded = -1;

	atomic_init(&box.top, NULL);
	atomic_init(&sent, 0);
	atomic_init(&failed, false);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ok(efd >= 0, "an eventfd");
	pthread_barrier_init(&start, NULL, SENDERS + 1);
	pthread_barrier_init(&end, NULL, SENDERS + 1);
	for (i = 0; i < SENDERS; i++)
		pthread_create(&t[i], NULL, sender, (void *)(intptr_t)i);
	pfd.fd = efd;
	pfd.events = POLLIN;
	for (wave = 0; wave < WAVES; wave++) {
		pthread_barrier_wait(&start);
		/* Take while they post, until the wave is in; 2 s untold: lost. */
		while (total < atomic_load(&sent)) {
			if (poll(&pfd, 1, 2000) != 1) {
				stranded = wave;
				atomic_store(&failed, true);
				break;
			}
			(void)read(efd, &v, sizeof(v));
			STAILQ_INIT(&got);
			mailbox_take(&box, &got);
			while ((job = STAILQ_FIRST(&got)) != NULL) {
				STAILQ_REMOVE_HEAD(&got, entry);
				if (job->rowid != next[job->checkin.worker_id]++)
					disorder++;
				total++;
				free(job);
			}
		}
		pthread_barrier_wait(&end);
		if (stranded >= 0)
			break;
	}
	for (i = 0; i < SENDERS; i++)
		pthread_join(t[i], NULL);
	is_int(stranded, -1, "the receiver is told of every job (never waits "
	    "2 s while jobs sit in the mailbox)");
	is_int(total, atomic_load(&sent), "%d waves: all %ld jobs received",
	    WAVES, total);
	is_int(disorder, 0, "each sender's jobs in its order");
	STAILQ_INIT(&got);
	mailbox_take(&box, &got);
	ok(STAILQ_EMPTY(&got), "the mailbox is empty at the end");
	close(efd);
	return tap_done();
}
