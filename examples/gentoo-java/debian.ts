/**
 * The Debian twin of the "Build by Number" chain (seed 001): base -> glibc ->
 * zlib / gcc runtime -> java -> webapp, from Debian bookworm's packages, with a
 * real webapp (hello/Hello.java, built into hello.jar) that answers HTTP on 8080.
 */
import { debian, image } from 'imgsdk';

/** One builder for every Debian twin of the examples (the same id and options: bootstrapped once). */
export const bookworm = debian.builder('examples/bookworm', { suite: 'bookworm' });

/** Debian's OpenJDK 17; its /usr/bin/java is an alternatives link, so the entrypoint names the JDK's binary. */
export const JAVA_HOME = '/usr/lib/jvm/java-17-openjdk-amd64';

// "a minimal filesystem with the /etc, /dev, and /tmp directories"
export const base = image('matrix/debian-base')
  .builder(bookworm)
  .file('/etc', { dir: true })
  .file('/dev', { dir: true })
  .file('/tmp', { dir: true }, { mode: 0o1777 });

export const glibc = image('matrix/debian-glibc').from(base).packages('libc6');

export const zlib = image('matrix/debian-zlib').from(glibc).packages('zlib1g');

// The gcc runtime, not the compiler: Debian ships it as its own packages.
export const gcc = image('matrix/debian-gcc').from(glibc).packages('libgcc-s1', 'libstdc++6');

// "The Java image is based on the glibc image, but also copies files from zlib and GCC".
// apt would install zlib1g and libstdc++6 as openjdk's dependencies anyway; the copies
// keep the article's shape (and carry the same files).
export const java = image('matrix/debian-java')
  .from(glibc)
  .copy({ from: zlib, paths: ['/usr/lib/x86_64-linux-gnu/libz.so*'] })
  .copy({ from: gcc, paths: ['/usr/lib/x86_64-linux-gnu/lib{gcc_s,stdc++}.so*'] })
  .packages('openjdk-17-jre-headless')
  .env('JAVA_HOME', JAVA_HOME);

// The webapp Dockerfile: ADD the jar, ENTRYPOINT java -jar, EXPOSE 8080/tcp
export const webapp = image('matrix/webapp-debian')
  .from(java)
  .file('/mywebapp.jar', { src: 'hello.jar' })
  .entrypoint(`${JAVA_HOME}/bin/java`, '-jar', '/mywebapp.jar')
  .expose('8080/tcp')
  .user('nobody');
