/* An empty start file (crti.o, crtn.o, crtend.o, crtendS.o). */
#include "common.h"
