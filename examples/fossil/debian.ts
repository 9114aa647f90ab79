/**
 * The Debian twin of Fossil's container notes (seed 004): the same stock server
 * (stockServer of images.ts) from bookworm's `fossil` package, with its Tcl and
 * Python variants as children of one parent.
 */
import { debian, image } from 'imgsdk';
import { stockServer } from './images';

/** One builder for every Debian twin of the examples (the same id and options: bootstrapped once). */
export const bookworm = debian.builder('examples/bookworm', { suite: 'bookworm' });

export const fossil = image('fossil/server-debian').builder(bookworm).packages('fossil').with(stockServer);

// "STAGE 2: Pare that back to the bare essentials, plus Tcl." -- apk add tcl sqlite-tcl
export const fossilTcl = image('fossil/server-tcl-debian').from(fossil).packages('tcl', 'libsqlite3-tcl');

// "STAGE 2: Pare that back to the bare essentials, plus Python." The notes copy a static
// busybox in only to run the Dockerfile's RUN lines; imgsdk writes /etc/passwd itself.
export const fossilPython = image('fossil/server-python-debian').from(fossil).packages('python3');
