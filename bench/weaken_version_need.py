#!/usr/bin/python3
"""Mark a symbol-version requirement of an ELF shared library weak, in place.

    weaken_version_need.py LIBRARY VERSION_NAME      e.g. libLibTorchSharp.so GLIBCXX_3.4.32

Why (bench/build-harnesses.sh runs this on the copy of libLibTorchSharp.so in the TorchSharp
harness's output folder, never on the NuGet cache or on libtorch): TorchSharp-cpu 0.107's
libLibTorchSharp.so was linked against a newer libstdc++ and so asks for GLIBCXX_3.4.32, which
Debian 12's libstdc++ (up to GLIBCXX_3.4.30) lacks; the loader then refuses the library. The only
symbol of that version is std::ios_base_library_init(), which GCC 13 headers reference merely to
pull in the new iostream initialisation: no relocation uses it, so the loader never binds it.
A requirement flagged VER_FLG_WEAK in .gnu.version_r is one the loader may find missing without
failing (glibc's dl-version.c reports it only when verbose), so the library then loads against the
system libstdc++ and every symbol it does bind comes from versions that libstdc++ has.

The script checks that claim before writing: it refuses when any relocation of the library
refers to a symbol of that version (then the symbol would be bound and the patch would be wrong).
It changes two bytes (the vna_flags of one Vernaux entry) and nothing else; running it again is a
no-op. Standard library only.
"""

import os
import shutil
import struct
import sys

SHT_RELA, SHT_REL, SHT_DYNSYM = 4, 9, 11
SHT_GNU_VERNEED, SHT_GNU_VERSYM = 0x6FFFFFFE, 0x6FFFFFFF
VER_FLG_WEAK = 0x2


def sections(data):
    """(type, offset, size, link, entsize) of every section of a little-endian ELF64 file."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise SystemExit("not a little-endian 64-bit ELF file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    out = []
    for i in range(shnum):
        _, sh_type, _, _, off, size, link, _, _, entsize = struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
        out.append((sh_type, off, size, link, entsize))
    return out


def cstr(data, off):
    return data[off:data.index(b"\0", off)].decode()


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.split("\n\n")[1])
    path, wanted = sys.argv[1], sys.argv[2]
    with open(path, "rb") as f:
        data = bytearray(f.read())
    secs = sections(data)

    # The Vernaux entry (vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32) naming the version.
    found = None
    for sh_type, off, _, link, _ in secs:
        if sh_type != SHT_GNU_VERNEED:
            continue
        strtab = secs[link][1]
        need = off
        while True:
            _, cnt, _, aux, nxt = struct.unpack_from("<HHIII", data, need)
            a = need + aux
            for _ in range(cnt):
                _, flags, other, name, anext = struct.unpack_from("<IHHII", data, a)
                if cstr(data, strtab + name) == wanted:
                    found = (a, flags, other)
                a += anext
            if not nxt:
                break
            need += nxt
    if found is None:
        raise SystemExit(f"{path}: no version requirement {wanted}")
    entry, flags, version_index = found
    if flags & VER_FLG_WEAK:
        print(f"{path}: {wanted} is already weak")
        return

    # Symbols carrying that version index (.gnu.version parallels .dynsym), and relocations using them.
    dynsym = next(s for s in secs if s[0] == SHT_DYNSYM)
    versym = next(s for s in secs if s[0] == SHT_GNU_VERSYM)
    dynstr = secs[dynsym[3]][1]
    count = dynsym[2] // dynsym[4]
    versioned = {i for i in range(count)
                 if struct.unpack_from("<H", data, versym[1] + 2 * i)[0] & 0x7FFF == version_index}
    bound = set()
    for sh_type, off, size, link, entsize in secs:
        if sh_type in (SHT_RELA, SHT_REL) and secs[link][0] == SHT_DYNSYM and entsize:
            for r in range(off, off + size, entsize):
                info, = struct.unpack_from("<Q", data, r + 8)
                if info >> 32 in versioned:
                    bound.add(info >> 32)
    names = lambda idx: ", ".join(sorted(cstr(data, dynstr + struct.unpack_from("<I", data, dynsym[1] + i * dynsym[4])[0])
                                         for i in idx))
    if bound:
        raise SystemExit(f"{path}: relocations use {wanted} symbols ({names(bound)}); refusing to weaken it")
    struct.pack_into("<H", data, entry + 4, flags | VER_FLG_WEAK)
    # A new file renamed over the old one: a hard link into the NuGet cache, if the build made one, stays intact.
    tmp = path + ".weakening"
    with open(tmp, "wb") as f:
        f.write(data)
    shutil.copymode(path, tmp)
    os.replace(tmp, path)
    print(f"{path}: {wanted} marked weak (its symbols, never relocated: {names(versioned) or 'none'})")


if __name__ == "__main__":
    main()
