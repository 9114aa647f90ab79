/**
 * The gentoo-java chain of the ADMIN article "Build by Number" (seed 001):
 * gentoo-base -> gentoo-glibc -> gentoo-zlib / gentoo-gcc -> gentoo-java, and the
 * webapp Dockerfile on top. The article builds each layer from `q files <pkg>` lists
 * and Makefiles; here each is an image and imgsdk's keys do what its timestamps did.
 */
import { gentoo, image } from 'imgsdk';

// "I chose Gentoo because the distribution compiles applications locally from source files."
export const builder = gentoo.builder('matrix/gentoo', { stage3: 'amd64-openrc' });

// "the glibc image uses a base image ... which contains a minimal filesystem
// with the /etc, /dev, and /tmp directories"
export const base = image('matrix/gentoo-base')
  .builder(builder)
  .file('/etc', { dir: true })
  .file('/dev', { dir: true })
  .file('/tmp', { dir: true }, { mode: 0o1777 });

// Listing 3: "Step 1/2 : FROM dockerrepo.matrix.dev/gentoo-base:latest", "ADD gentoo-glibc.tar.gz /"
export const glibc = image('matrix/gentoo-glibc').from(base).packages('sys-libs/glibc');

// Listing 1: "q files sys-libs/zlib | grep /lib64 | tar cvzf $@ -T -"
export const zlib = image('matrix/gentoo-zlib').from(glibc).packages('sys-libs/zlib');

// Listing 3: gentoo-gcc is "FROM dockerrepo.matrix.dev/gentoo-glibc"; gmp, mpc and mpfr
// (separate archives in Listing 1) come along as gcc's dependencies.
export const gcc = image('matrix/gentoo-gcc')
  .from(glibc)
  .packages('sys-devel/gcc')
  // .copy() keeps paths (it has no destination), so the runtime libraries are put in
  // /$LIB here (Kubler's copy_gcc_libs), where the article's COPY puts them: /lib64/.
  .runtimeLibs('gcc');

/** icedtea-bin 3.16.0, the JDK the article's JAVA_HOME names. */
const JAVA_HOME = '/opt/icedtea-bin-3.16.0';

// "The Java image is based on the glibc image, but also copies files from zlib and GCC"
export const java = image('matrix/gentoo-java')
  .from(glibc)
  // COPY --from=dockerrepo.matrix.dev/gentoo-zlib:latest-amd64 /lib64/* /lib64/
  // (zlib's files only: /lib64/* of that image would also be glibc's, which is the parent here;
  // newer Gentoo installs libz in /usr/lib64)
  .copy({ from: zlib, paths: ['/{lib64,usr/lib64}/libz.so*'] })
  // COPY --from=dockerrepo.matrix.dev/gentoo-gcc:latest-amd64 /usr/lib/gcc/x86_64-pc-linux-gnu/9.3.0/lib* /lib64/
  .copy({ from: gcc, paths: ['/{lib64,usr/lib64}/lib{gcc_s,stdc++}.so*'] })
  // ADD gentoo-java.tar.gz / -- Listing 1 depends on /usr/lib/jvm/icedtea-bin-8
  .packages('=dev-java/icedtea-bin-3.16.0')
  // Step 5/6 : ENV JAVA_HOME /opt/icedtea-bin-3.16.0
  .env('JAVA_HOME', JAVA_HOME);

// The webapp Dockerfile: FROM .../gentoo-java:latest-amd64
export const webapp = image('matrix/webapp')
  .from(java)
  // ADD webapp.tar.gz / -- mywebapp.jar here is a placeholder for your build's jar
  .file('/mywebapp.jar', { src: 'mywebapp.jar' })
  // ENTRYPOINT ["java", "-jar", "mywebapp.jar"]: Gentoo's /usr/bin/java is a bash
  // wrapper (java-config), so the JDK's binary is named directly.
  .entrypoint(`${JAVA_HOME}/bin/java`, '-jar', '/mywebapp.jar')
  // EXPOSE 8080/tcp
  .expose('8080/tcp')
  // Spring Boot needs no root; the article does not set a user.
  .user('nobody');
