import "pe"
import "math"
rule modules {
  condition:
    pe.number_of_sections == 1 or math.entropy(0, filesize) > 7
}
