/* thread_count.h - the threads of this process, for the tests that check no
 * thread outlives the objects that started it (test_pool, test_threads). */
#ifndef SYN_TEST_THREAD_COUNT_H
#define SYN_TEST_THREAD_COUNT_H

#include <dirent.h>
#include <pthread.h>
#include <stddef.h>
#include <time.h>

/* Threads of this process, or -1 where /proc/self/task does not exist. */
static int count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* The thread count once it is `want`, polled for up to 2 s: pthread_join
 * returns when a thread has left user space, and on a loaded machine the
 * kernel may list it in /proc/self/task a little longer. A thread that was
 * never joined stays, so a leak still shows. */
static int count_threads_settled(int want)
{
    int n = count_threads();
    for (int i = 0; i < 2000 && n != want; i++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
        n = count_threads();
    }
    return n;
}

static void *nothing(void *arg)
{
    return arg;
}

/* Starts and joins one thread: a sanitizer runtime starts a helper thread of
 * its own with the first one (ThreadSanitizer does), which must be in every
 * baseline the leak checks compare with. */
static void settle_runtime_threads(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, nothing, NULL) == 0)
        pthread_join(t, NULL);
}

#endif
