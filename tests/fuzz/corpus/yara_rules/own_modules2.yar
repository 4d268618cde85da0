import "pe"
import "elf"
import "hash"
import "math"
import "time"
import "console"
rule modules2 {
  condition:
    pe.is_pe and pe.imports("kernel32.dll", "CreateFileA") or
    elf.type == elf.ET_EXEC or
    hash.md5(0, filesize) == "d41d8cd98f00b204e9800998ecf8427e" or
    math.mean(0, 64) > 3.5 and time.now() > 0 and
    console.log("x") and
    for any sec in pe.sections : ( sec.name == ".text" )
}
