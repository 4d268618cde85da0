rule re_count {
  strings:
    $r = /\.ph[a-z]{1,3}/
    $x = "|||" 
  condition:
    #r > 1 and $x in (0..filesize) and filesize < 1MB
}
