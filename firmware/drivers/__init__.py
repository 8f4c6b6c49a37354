# drivers - charging-station peripherals for MicroPython. Every driver takes its bus or pin
# objects (machine.Pin/UART/SPI/PWM/ADC/WDT or look-alikes) as arguments; none imports machine.
